"""The application and its window: a view switcher over Me, People near me, Contacts,
Invitations and Troubleshoot; card files opened with the app are imported."""
import os
import sys
import time

import gi

gi.require_version("Gtk", "4.0")
gi.require_version("Adw", "1")
from gi.repository import Adw, Gio, GLib, GObject, Gtk  # noqa: E402

from . import APP_ID  # noqa: E402
from .contacts_view import ContactsView  # noqa: E402
from .daemon import Daemon, prop  # noqa: E402
from .invitations_view import InvitationsView  # noqa: E402
from .launcher import OutgoingLauncher  # noqa: E402
from .me_view import MeView  # noqa: E402
from .people_view import PeopleView  # noqa: E402
from .troubleshoot_view import TroubleshootView  # noqa: E402
from .widgets import hide_other_pages  # noqa: E402

STARTED = time.monotonic()
# PEERCOLLAB_PEOPLE_TIMING=1 prints when things first show (CLOCK_MONOTONIC seconds), for
# the start-up and latency figures; nothing is printed otherwise.
TIMING = os.environ.get("PEERCOLLAB_PEOPLE_TIMING") == "1"


def timing(event, detail=""):
    if TIMING:
        print(f"timing {time.monotonic():.6f} {event} {detail}", file=sys.stderr, flush=True)


class Window(Adw.ApplicationWindow):
    def __init__(self, app, daemon):
        super().__init__(application=app, title="People", default_width=800, default_height=600)
        self.set_size_request(340, 400)
        self.daemon = daemon
        self.launcher = OutgoingLauncher(self, daemon)
        self.stack = Adw.ViewStack()
        self.toasts = Adw.ToastOverlay()
        self.toasts.set_child(self.stack)

        self.me = MeView(self, daemon)
        self.people = PeopleView(self, daemon)
        self.contacts = ContactsView(self, daemon)
        self.invitations = InvitationsView(self, daemon)
        self.troubleshoot = TroubleshootView(self, daemon)
        self.pages = {}
        for name, title, icon, view in (
            ("me", "Me", "avatar-default-symbolic", self.me),
            ("people", "Near me", "system-users-symbolic", self.people),
            ("contacts", "Contacts", "x-office-address-book-symbolic", self.contacts),
            ("invitations", "Invitations", "mail-unread-symbolic", self.invitations),
            # "Troubleshoot" does not fit the narrow switcher bar; the view's heading says it.
            ("troubleshoot", "Checks", "dialog-question-symbolic", self.troubleshoot),
        ):
            self.pages[name] = self.stack.add_titled_with_icon(view.widget, name, title, icon)
        self.stack.connect("notify::visible-child-name", self._view_changed)
        hide_other_pages(self.stack)

        header = Adw.HeaderBar()
        title = Adw.ViewSwitcherTitle(stack=self.stack, title="People")
        header.set_title_widget(title)
        bar = Adw.ViewSwitcherBar(stack=self.stack)
        title.bind_property("title-visible", bar, "reveal", GObject.BindingFlags.SYNC_CREATE)

        # No AdwBanner in libadwaita 1.2: a label and a button in a revealer do its job.
        self.banner_text = Gtk.Label(wrap=True, hexpand=True, xalign=0)
        self.banner_text.add_css_class("error")
        start = Gtk.Button(label="Start peercollabd", valign=Gtk.Align.CENTER)
        start.connect("clicked", lambda _b: daemon.restart())
        banner_box = Gtk.Box(spacing=12, margin_top=6, margin_bottom=6, margin_start=12, margin_end=12)
        banner_box.append(self.banner_text)
        banner_box.append(start)
        self.banner = Gtk.Revealer(child=banner_box)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        box.append(header)
        box.append(self.banner)
        box.append(self.toasts)
        self.toasts.set_vexpand(True)
        box.append(bar)
        self.set_content(box)
        self.stack.set_visible_child_name("people")

        daemon.connect("failed", lambda _d, text: self.toast(text))
        daemon.connect("owner-changed", self._owner_changed)
        daemon.connect("object-added", lambda _d, kind, path: timing("row", f"{kind} {path}"))
        daemon.connect("object-changed", lambda _d, kind, path, names: timing("changed", f"{kind} {path} {','.join(sorted(names))}"))
        daemon.connect("object-removed", lambda _d, kind, path: timing("removed", f"{kind} {path}"))
        daemon.connect("manager-changed", self._manager_changed)
        daemon.connect("invitation-received", self._invited)
        show = Gio.SimpleAction.new("show-invitations", None)
        show.connect("activate", lambda *_: self.show_view("invitations"))
        self.add_action(show)

    def _manager_changed(self, _daemon, names):
        if names:
            timing("manager", ",".join(sorted(names)) + " " + repr(self.daemon.me("SignedIn", [])))
        if names is None:
            timing("populated", f"{sum(len(v) for v in self.daemon.objects.values())} objects")

    def _invited(self, _daemon, path):
        """A toast with a way there; the daemon's own notification covers a closed window."""
        self.update_badge()
        proxy = self.daemon.get("Invitation", path)
        who = prop(proxy, "DisplayName", "") or "Someone"
        trust = self.daemon.trust(prop(proxy, "PeerName", ""))
        app = self.daemon.application_name(prop(proxy, "ApplicationId", ""))
        if self.stack.get_visible_child_name() != "invitations":
            toast = Adw.Toast(title=GLib.markup_escape_text(f"{who} ({trust}) invites you to {app}"), timeout=10,
                              button_label="Show", action_name="win.show-invitations")
            self.toasts.add_toast(toast)

    def _owner_changed(self, _daemon, running):
        self.banner_text.set_label("" if running else "peercollabd is not running: nothing here is up to date.")
        self.banner.set_reveal_child(not running)

    def _view_changed(self, *_args):
        if self.stack.get_visible_child_name() == "troubleshoot":
            self.troubleshoot.run()

    def show_view(self, name):
        self.stack.set_visible_child_name(name)

    def toast(self, text):
        timing("toast", text)
        self.toasts.add_toast(Adw.Toast(title=GLib.markup_escape_text(text), timeout=6))

    def update_badge(self):
        count = self.invitations.pending_incoming()
        page = self.pages["invitations"]
        page.set_badge_number(count)
        page.set_needs_attention(count > 0)


class PeopleApp(Adw.Application):
    """One instance per session (GApplication): running it again presents the window,
    and with card files imports them."""

    def __init__(self):
        super().__init__(application_id=APP_ID, flags=Gio.ApplicationFlags.HANDLES_OPEN)
        self.window = None
        self.daemon = None
        self.pending_files = []

    def do_startup(self):
        Adw.Application.do_startup(self)
        Gtk.Window.set_default_icon_name(APP_ID)
        # Kept for the app's lifetime: the ObjectManager client's signals live as long as it.
        self.daemon = Daemon()
        quit_action = Gio.SimpleAction.new("quit", None)
        quit_action.connect("activate", lambda *_: self.quit())
        self.add_action(quit_action)
        self.set_accels_for_action("app.quit", ["<Control>q"])

    def do_activate(self):
        if self.window is None:
            self.window = Window(self, self.daemon)
            self.daemon.connect("manager-changed", self._import_pending)
            self.daemon.start()
        self.window.present()
        timing("window")

    def do_open(self, files, _count, _hint):
        self.do_activate()
        self.pending_files += [f.get_path() for f in files if f.get_path()]
        self._import_pending()

    def _import_pending(self, *_args):
        if self.daemon.manager is None:
            return
        files, self.pending_files = self.pending_files, []
        for path in files:
            self.window.contacts.import_file(path)


def main(argv):
    return PeopleApp().run(argv)
