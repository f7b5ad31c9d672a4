"""Me: who I am to others, my presence, where I am signed in, and my card."""
from gi.repository import Adw, Gio, GLib, Gtk

from . import daemon as d
from .qr import QRCodeView
from .widgets import copy_to_clipboard, name_for_screen_readers, page, switch_row


def contact_link(daemon):
    """peercollab:PEERNAME@HOST:PORT at my first address that is not loopback."""
    name = daemon.me("PeerName", "")
    endpoints = daemon.me("Endpoints", []) or []
    links = []
    for host, port in endpoints:
        shown = f"[{host}]" if ":" in host else host
        links.append((host, f"peercollab:{name}@{shown}:{port}"))
    for host, link in links:
        if not (host.startswith("127.") or host == "::1"):
            return link
    return links[0][1] if links else ""


class MeView:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.widget, box = page()

        group = Adw.PreferencesGroup(title="Me")
        self.name_row = Adw.EntryRow(title="Display name", show_apply_button=True)
        self.name_row.connect("apply", self._apply_name)
        group.add(self.name_row)
        self.status_row = Adw.ComboRow(title="Presence")
        self.status_row.set_model(Gtk.StringList.new([label for _s, label in d.STATUSES]))
        self.status_row.connect("notify::selected", self._status_chosen)
        group.add(self.status_row)
        self.message_row = Adw.EntryRow(title="Presence message", show_apply_button=True)
        self.message_row.connect("apply", lambda _r: self._set_presence())
        group.add(self.message_row)
        box.append(group)

        group = Adw.PreferencesGroup(title="Sign in", description="Others see you only where you are signed in.")
        self.near_row = switch_row("Near me", "People on this network", lambda on: self._sign("near-me", on))
        self.internet_row = switch_row("Internet", "Contacts at their addresses", lambda on: self._sign("internet", on))
        self.auto_row = switch_row(
            "Sign in automatically", "Stay signed in, with your presence, when peercollab or the computer restarts",
            self._set_automatic)
        group.add(self.near_row)
        group.add(self.internet_row)
        group.add(self.auto_row)
        box.append(group)

        group = Adw.PreferencesGroup(
            title="Verification",
            description="Contacts compare these with what their app shows for you.")
        self.peer_name_row = self._detail_row("Peer name")
        self.fingerprint_row = self._detail_row("Fingerprint")
        group.add(self.peer_name_row)
        group.add(self.fingerprint_row)
        box.append(group)

        group = Adw.PreferencesGroup(
            title="My contact card",
            description="Scan the code or send the link to be reached where multicast cannot find you; "
                        "send the card file to become a verified contact.")
        self.qr = QRCodeView()
        self.qr.set_margin_top(6)
        self.qr.set_margin_bottom(6)
        group.add(self.qr)
        self.link_label = Gtk.Label(wrap=True, selectable=True, wrap_mode=2, xalign=0.5)
        self.link_label.add_css_class("caption")
        group.add(self.link_label)
        buttons = Gtk.Box(spacing=6, halign=Gtk.Align.CENTER, margin_top=6)
        copy = Gtk.Button(label="Copy link")
        copy.connect("clicked", self._copy_link)
        export = Gtk.Button(label="Export card…")
        export.connect("clicked", self._export)
        buttons.append(copy)
        buttons.append(export)
        group.add(buttons)
        box.append(group)

        daemon.connect("manager-changed", lambda *_: self.refresh())

    def _detail_row(self, title):
        row = Adw.ActionRow(title=title)
        row.add_css_class("property")
        return row

    def refresh(self):
        dm = self.daemon
        name = dm.me("DisplayName", "")
        if not self.name_row.has_focus() and self.name_row.get_text() != name:
            self.name_row.set_text(name)
        status = dm.me("PresenceStatus", "online")
        index = next((i for i, (s, _l) in enumerate(d.STATUSES) if s == status), 0)
        self.updating = True
        self.status_row.set_selected(index)
        self.updating = False
        message = dm.me("PresenceMessage", "")
        if self.message_row.get_text() != message and not self.message_row.has_focus():
            self.message_row.set_text(message)
        signed = set(dm.me("SignedIn", []) or [])
        self.near_row.set_active("near-me" in signed or "all" in signed)
        self.internet_row.set_active("internet" in signed or "all" in signed)
        self.auto_row.set_active(dm.me("SignInAutomatically", True))
        self.peer_name_row.set_subtitle(dm.me("PeerName", "") or "—")
        self.fingerprint_row.set_subtitle(dm.me("Fingerprint", "") or "—")
        link = contact_link(dm)
        self.link = link
        self.qr.set_text(link)
        self.link_label.set_label(link or "No network address yet: peers cannot reach you.")
        name_for_screen_readers(self.link_label, "My contact link: " + (link or "none"))

    updating = False
    link = ""

    def _apply_name(self, row):
        self.daemon.set_property(
            d.ROOT, d.MANAGER, "DisplayName", GLib.Variant("s", row.get_text().strip()),
            on_error=self._failed_and_refresh)

    def _status_chosen(self, *_args):
        if not self.updating and self.daemon.manager is not None:
            self._set_presence()

    def _set_presence(self):
        status = d.STATUSES[self.status_row.get_selected()][0]
        self.daemon.call_manager(
            "SetPresence", GLib.Variant("(ss)", (status, self.message_row.get_text().strip())),
            on_error=self._failed_and_refresh)

    def _sign(self, scope, on):
        self.daemon.call_manager(
            "SignIn" if on else "SignOut", GLib.Variant("(s)", (scope,)), on_error=self._failed_and_refresh)

    def _set_automatic(self, on):
        self.daemon.set_property(d.ROOT, d.MANAGER, "SignInAutomatically", GLib.Variant("b", on),
                                 on_error=self._failed_and_refresh)

    def _failed_and_refresh(self, text):
        self.window.toast(text)
        self.refresh()

    def _copy_link(self, _button):
        if self.link:
            copy_to_clipboard(self.window, self.link)
            self.window.toast("Contact link copied")

    def _export(self, _button):
        chooser = Gtk.FileChooserNative(
            title="Export my contact card", transient_for=self.window, action=Gtk.FileChooserAction.SAVE,
            accept_label="Export")
        chooser.set_current_name((self.daemon.me("DisplayName", "") or "contact") + ".vcf")
        # In the home folder, not wherever the app was started from.
        chooser.set_current_folder(Gio.File.new_for_path(GLib.get_home_dir()))
        self._chooser = chooser

        def chosen(dialog, response):
            self._chooser = None
            if response != Gtk.ResponseType.ACCEPT:
                return
            path = dialog.get_file().get_path()
            self.daemon.call_manager("GetContactCard", on_done=lambda values: self._write(path, values[0]),
                                     on_error=self.window.toast)

        chooser.connect("response", chosen)
        chooser.show()

    def _write(self, path, card):
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write(card)
        except OSError as error:
            self.window.toast(f"Could not write {path}: {error.strerror}")
            return
        self.window.toast(f"Card saved to {path}")
