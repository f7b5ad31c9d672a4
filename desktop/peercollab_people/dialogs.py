"""The dialogs: comparing verification codes, and inviting someone (its answer shown live)."""
from gi.repository import Adw, GLib, Gtk

from . import daemon as d
from .widgets import name_for_screen_readers

STATE_TEXT = {
    "pending": "Waiting for an answer",
    "accepted": "Accepted",
    "declined": "Declined",
    "expired": "Expired: no answer in time",
    "cancelled": "Cancelled",
    "failed": "Failed",
}


def state_text(state, reason=""):
    text = STATE_TEXT.get(state, state)
    return f"{text}: {reason}" if reason and state != "pending" else text


def compare_codes(window, daemon, peer_path=None, contact_path=None, name=""):
    """Shows the six-digit code; "They match" marks the contact verified (adding it first)."""
    source = daemon.get("Contact", contact_path) if contact_path else daemon.get("Peer", peer_path)
    code = d.prop(source, "VerificationCode", "")
    dialog = Adw.MessageDialog(
        transient_for=window, modal=True, heading=f"Compare codes with {name}",
        body=f"Ask {name} to read out the code their app shows for you, over the phone or face to face. "
             "It must be exactly this one:")
    label = Gtk.Label(label=code or "—", selectable=True)
    label.add_css_class("title-1")
    name_for_screen_readers(label, "Verification code " + code)
    dialog.set_extra_child(label)
    dialog.add_response("cancel", "Not now")
    dialog.add_response("differ", "They differ")
    dialog.add_response("match", "They match")
    dialog.set_response_appearance("match", Adw.ResponseAppearance.SUGGESTED)
    dialog.set_response_appearance("differ", Adw.ResponseAppearance.DESTRUCTIVE)
    dialog.set_default_response("cancel")
    dialog.set_close_response("cancel")

    def verify(path):
        daemon.set_property(path, d.PREFIX + "Contact", "Verified", GLib.Variant("b", True), on_error=window.toast)
        window.toast(f"{name} is a verified contact")

    def responded(_dialog, response):
        if response == "differ":
            window.toast(f"The codes differ: this is not {name}'s key. Do not trust it.")
        elif response == "match":
            if contact_path:
                verify(contact_path)
            else:
                daemon.call(peer_path, d.PREFIX + "Peer", "AddToContacts",
                            on_done=lambda values: verify(values[0]), on_error=window.toast)

    dialog.connect("response", responded)
    dialog.present()
    return dialog


class InviteDialog(Adw.Window):
    """Invites a peer or contact into an application both sides registered."""

    def __init__(self, window, daemon, target_path, name, applications):
        super().__init__(transient_for=window, modal=True, title=f"Invite {name}",
                         default_width=420, default_height=420)
        self.window = window
        self.daemon = daemon
        self.target = target_path
        self.name = name
        self.invitation = None
        common = sorted(set(applications) & daemon.my_application_ids())
        self.app_ids = common

        header = Adw.HeaderBar(show_end_title_buttons=False, show_start_title_buttons=False)
        self.close_button = Gtk.Button(label="Close")
        self.close_button.connect("clicked", lambda _b: self.close())
        header.pack_start(self.close_button)
        self.send_button = Gtk.Button(label="Send invitation")
        self.send_button.add_css_class("suggested-action")
        self.send_button.connect("clicked", self._send)
        self.send_button.set_sensitive(bool(common))
        header.pack_end(self.send_button)
        self.cancel_button = Gtk.Button(label="Cancel invitation")
        self.cancel_button.add_css_class("destructive-action")
        self.cancel_button.connect("clicked", self._cancel)
        self.cancel_button.set_visible(False)
        header.pack_end(self.cancel_button)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12, margin_top=12, margin_bottom=12,
                      margin_start=12, margin_end=12)
        group = Adw.PreferencesGroup(
            description=f"Applications {name} has that you have too." if common else
            f"{name} has no application that you have too, so there is nothing to invite them into.")
        self.app_row = Adw.ComboRow(title="Application")
        self.app_row.set_model(Gtk.StringList.new([daemon.application_name(a) for a in common]))
        self.app_row.set_sensitive(bool(common))
        group.add(self.app_row)
        self.message_row = Adw.EntryRow(title="Message")
        group.add(self.message_row)
        timeout_row = Adw.ActionRow(title="Wait for an answer", subtitle="seconds")
        self.timeout = Gtk.SpinButton.new_with_range(1, 3600, 30)
        self.timeout.set_value(300)
        self.timeout.set_valign(Gtk.Align.CENTER)
        name_for_screen_readers(self.timeout, "Timeout in seconds")
        timeout_row.add_suffix(self.timeout)
        group.add(timeout_row)
        box.append(group)
        self.status = Gtk.Label(wrap=True, xalign=0)
        self.status.add_css_class("title-4")
        self.status.set_visible(False)
        box.append(self.status)

        toolbar = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        toolbar.append(header)
        scrolled = Gtk.ScrolledWindow(vexpand=True, hscrollbar_policy=Gtk.PolicyType.NEVER)
        scrolled.set_child(box)
        toolbar.append(scrolled)
        self.set_content(toolbar)
        self._handler = daemon.connect("object-changed", self._changed)
        self._removed = daemon.connect("object-removed", self._gone)
        self.connect("close-request", self._closing)

    def _closing(self, *_args):
        self.daemon.disconnect(self._handler)
        self.daemon.disconnect(self._removed)
        return False

    def _send(self, _button):
        app_id = self.app_ids[self.app_row.get_selected()]
        self.send_button.set_sensitive(False)
        self._show_status("Sending…")
        args = GLib.Variant("(ossayu)", (self.target, app_id, self.message_row.get_text(), b"",
                                         int(self.timeout.get_value())))
        self.daemon.call_manager("Invite", args, on_done=self._sent, on_error=self._not_sent)

    def _not_sent(self, text):
        self._show_status("Not sent: " + text)
        self.send_button.set_sensitive(True)

    def _sent(self, values):
        self.invitation = values[0]
        # Accepted, the application starts on my side too (People's launcher).
        self.window.launcher.watch(self.invitation)
        self.send_button.set_visible(False)
        self.app_row.set_sensitive(False)
        self.message_row.set_sensitive(False)
        self.timeout.set_sensitive(False)
        self._update()

    def _changed(self, _daemon, kind, path, _names):
        if kind == "Invitation" and path == self.invitation:
            self._update()

    def _gone(self, _daemon, kind, path):
        if kind == "Invitation" and path == self.invitation:
            self.cancel_button.set_visible(False)

    def _update(self):
        proxy = self.daemon.get("Invitation", self.invitation)
        state = d.prop(proxy, "State", "pending")
        self._show_status(f"{self.name}: " + state_text(state, d.prop(proxy, "Reason", "")))
        self.cancel_button.set_visible(state == "pending")

    def _show_status(self, text):
        self.status.set_label(text)
        self.status.set_visible(True)
        name_for_screen_readers(self.status, "Invitation status: " + text)

    def _cancel(self, _button):
        self.daemon.call(self.invitation, d.PREFIX + "Invitation", "Cancel", on_error=self._show_status)
