"""The board's window and its life: register with peercollab, and when started for an
accepted invitation (PEERCOLLAB_INVITATION), open the channel "board" and draw together."""
import os
import re
import socket
import sys
import time

import gi

gi.require_version("Gtk", "4.0")
gi.require_version("Adw", "1")
from gi.repository import Adw, Gio, GLib, Gtk  # noqa: E402

from . import APP_ID  # noqa: E402
from .channel import Channel  # noqa: E402
from .strokes import COLORS, Strokes  # noqa: E402

SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"
IFACE = "org.peercollab.PeerCollab1."
CHANNEL = "board"
# PEERCOLLAB_BOARD_TIMING=1: "timing SECONDS EVENT STROKE" on stderr (CLOCK_MONOTONIC), for
# the latency figure of the tests.
TIMING = os.environ.get("PEERCOLLAB_BOARD_TIMING") == "1"


def timing(event, detail=""):
    if TIMING:
        print(f"timing {time.monotonic():.6f} {event} {detail}", file=sys.stderr, flush=True)


def message_of(error):
    """What a failed call says, without the D-Bus error name GDBus puts in front."""
    return re.sub(r"^GDBus\.Error:[^ ]+: ", "", error.message)


def name_for_screen_readers(widget, text):
    widget.update_property([Gtk.AccessibleProperty.LABEL], [text])


class BoardWindow(Adw.ApplicationWindow):
    def __init__(self, app):
        super().__init__(application=app, title="Board", default_width=800, default_height=600)
        self.set_size_request(340, 360)
        self.strokes = Strokes()
        self.channel = None
        self.other = "the other side"
        self.color = 0
        self.current = None      # the id of the stroke I am drawing
        self.unpainted = set()   # (event, stroke id) of theirs not on screen yet, for timing

        self.heading = Adw.WindowTitle(title="Board", subtitle="")
        header = Adw.HeaderBar(title_widget=self.heading)

        self.area = Gtk.DrawingArea(hexpand=True, vexpand=True, accessible_role=Gtk.AccessibleRole.IMG)
        self.area.set_draw_func(self._draw)
        drag = Gtk.GestureDrag()
        drag.connect("drag-begin", self._drag_begin)
        drag.connect("drag-update", self._drag_update)
        drag.connect("drag-end", self._drag_end)
        self.area.add_controller(drag)

        palette = Gtk.Box(spacing=6, margin_top=6, margin_bottom=6, margin_start=12, margin_end=12)
        first = None
        for index, (label, _rgb) in enumerate(COLORS):
            # Grouped check buttons (radio buttons): screen readers can read and press them.
            button = Gtk.CheckButton(label=label, group=first, active=index == 0)
            button.connect("toggled", lambda b, i=index: b.get_active() and setattr(self, "color", i))
            first = first or button
            palette.append(button)
        self.status = Gtk.Label(wrap=True, xalign=0, hexpand=True, margin_start=12, margin_end=12, margin_bottom=6)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        box.append(header)
        box.append(self.area)
        box.append(palette)
        box.append(self.status)
        self.set_content(box)
        self.connect("close-request", self._closing)
        self._describe()

    # Status and what screen readers read

    def show_status(self, text):
        self.status.set_label(text)
        name_for_screen_readers(self.status, "Board status: " + text)

    def _describe(self):
        theirs, mine = self.strokes.finished("theirs"), self.strokes.finished("mine")
        name_for_screen_readers(
            self.area, f"Drawing board: {theirs} stroke{'s' if theirs != 1 else ''} from {self.other}, {mine} of yours")

    # Drawing

    def _draw(self, _area, cr, width, height):
        cr.set_source_rgb(1, 1, 1)
        cr.paint()
        cr.set_line_width(3)
        cr.set_line_cap(1)   # round
        cr.set_line_join(1)
        for _side, _sid, stroke in self.strokes.all():
            cr.set_source_rgb(*COLORS[stroke.color][1])
            (x, y), *rest = stroke.points
            cr.move_to(x * width, y * height)
            for x, y in rest or [(x, y)]:
                cr.line_to(x * width, y * height)
            cr.stroke()
        for event, sid in sorted(self.unpainted):
            timing(event, sid)
        self.unpainted.clear()

    def _position(self, x, y):
        width, height = max(1, self.area.get_width()), max(1, self.area.get_height())
        return min(1.0, max(0.0, x / width)), min(1.0, max(0.0, y / height))

    def _drag_begin(self, _gesture, x, y):
        self.start = (x, y)
        fx, fy = self._position(x, y)
        self.current = self.strokes.begin_mine(self.color, fx, fy)
        timing("stroke-begun", self.current)
        self._send({"type": "begin", "id": self.current, "color": self.color, "x": fx, "y": fy})
        self.area.queue_draw()

    def _drag_update(self, _gesture, dx, dy):
        if self.current is None:
            return
        fx, fy = self._position(self.start[0] + dx, self.start[1] + dy)
        self.strokes.mine[self.current].points.append((fx, fy))
        self._send({"type": "point", "id": self.current, "x": fx, "y": fy})
        self.area.queue_draw()

    def _drag_end(self, gesture, dx, dy):
        if self.current is None:
            return
        self._drag_update(gesture, dx, dy)
        self.strokes.mine[self.current].done = True
        timing("stroke-sent", self.current)
        self._send({"type": "end", "id": self.current})
        self.current = None
        self._describe()

    # The channel

    def _send(self, message):
        if self.channel is not None:
            self.channel.send(message)

    def connected(self, sock, other):
        self.other = other
        self.heading.set_subtitle(f"with {other}")
        self.show_status(f"Drawing with {other}")
        self.channel = Channel(sock, self._received, self._channel_closed)
        self._describe()

    def _received(self, message):
        finished = self.strokes.apply(message)
        if TIMING and message.get("type") == "begin" and isinstance(message.get("id"), int):
            self.unpainted.add(("stroke-begin-drawn", message.get("id")))
        if finished is not None:
            self.unpainted.add(("stroke-drawn", finished))
            self._describe()
        self.area.queue_draw()

    def _channel_closed(self, reason):
        self.channel = None
        self.heading.set_subtitle("")
        self.show_status(f"{self.other} left the board" + (f": {reason}" if reason else "."))

    def _closing(self, *_args):
        if self.channel is not None:
            self.channel.leave()
        return False


class BoardApp(Adw.Application):
    """One window per invitation: NON_UNIQUE, so that each accepted invitation is a board."""

    def __init__(self):
        super().__init__(application_id=APP_ID, flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.window = None
        self.bus = None
        self.invitation = os.environ.get("PEERCOLLAB_INVITATION")

    def do_activate(self):
        if self.window is None:
            self.window = BoardWindow(self)
            self.window.show_status("Connecting to peercollab…")
            Gio.bus_get(Gio.BusType.SESSION, None, self._on_bus)
        self.window.present()

    def _call(self, path, interface, method, args, done, timeout_s=30, fds=False):
        """An asynchronous call to the daemon; `done(values, fd_list)`, or its error shown."""
        def finished(bus, result):
            try:
                if fds:
                    reply, fd_list = bus.call_with_unix_fd_list_finish(result)
                else:
                    reply, fd_list = bus.call_finish(result), None
            except GLib.Error as error:
                self.window.show_status(message_of(error))
                return
            done(reply.unpack(), fd_list)
        if fds:
            self.bus.call_with_unix_fd_list(SERVICE, path, IFACE + interface, method, args, None,
                                            Gio.DBusCallFlags.NONE, timeout_s * 1000, None, None, finished)
        else:
            self.bus.call(SERVICE, path, IFACE + interface, method, args, None, Gio.DBusCallFlags.NONE,
                          timeout_s * 1000, None, finished)

    def _on_bus(self, _source, result):
        try:
            self.bus = Gio.bus_get_finish(result)
        except GLib.Error as error:
            self.window.show_status(f"No session bus, so no peercollab: {error.message}")
            return
        # Registered at every start (it replaces the last registration): then People offers
        # Board in its Invite dialog, and the daemon starts this command for an accepted one.
        command = [sys.executable, os.path.abspath(sys.argv[0])]
        info = {"name": GLib.Variant("s", "Board"),
                "description": GLib.Variant("s", "Draw together on a shared board"),
                "exec": GLib.Variant("as", command)}
        self._call(ROOT, "Manager", "RegisterApplication", GLib.Variant("(sa{sv})", (APP_ID, info)),
                   self._registered)

    def _registered(self, _values, _fds):
        if not self.invitation:
            self.window.show_status("Not drawing with anyone yet. Invite someone from People: "
                                    "Near me or Contacts, Invite…, Board.")
            return
        self.bus.call(SERVICE, self.invitation, "org.freedesktop.DBus.Properties", "Get",
                      GLib.Variant("(ss)", (IFACE + "Invitation", "DisplayName")), None,
                      Gio.DBusCallFlags.NONE, 30000, None, self._on_name)

    def _on_name(self, bus, result):
        try:
            self.other = bus.call_finish(result).unpack()[0] or "the other side"
        except GLib.Error:
            self.other = "the other side"
        self.window.other = self.other
        self.window.show_status(f"Waiting for {self.other}…")
        # Wait replies once the invitation is final: the inviter decides, both sides agree.
        self._call(self.invitation, "Invitation", "Wait", None, self._on_final, timeout_s=3700)

    def _on_final(self, values, _fds):
        state = values[0]
        if state != "accepted":
            self.window.show_status(f"The invitation ended {state}.")
            return
        self._call(self.invitation, "Invitation", "OpenChannel", GLib.Variant("(s)", (CHANNEL,)),
                   self._on_channel, fds=True)

    def _on_channel(self, values, fd_list):
        sock = socket.socket(fileno=fd_list.get(values[0]))
        self.window.connected(sock, self.other)


def main(argv):
    return BoardApp().run(argv[:1])
