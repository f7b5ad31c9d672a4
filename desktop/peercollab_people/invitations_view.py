"""Invitations: incoming ones to answer, outgoing ones with their state as it changes."""
from gi.repository import GLib

from . import daemon as d
from .card_row import CardRow
from .dialogs import state_text
from .widgets import boxed_list, heading, page


class InvitationsView:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.rows = {}
        self.widget, box = page()
        box.append(heading("Incoming"))
        self.incoming = boxed_list(placeholder="Nobody has invited you.", accessible="Incoming invitations")
        box.append(self.incoming)
        box.append(heading("Outgoing"))
        self.outgoing = boxed_list(placeholder="You have invited nobody lately.", accessible="Outgoing invitations")
        box.append(self.outgoing)
        for listbox in (self.incoming, self.outgoing):
            listbox.set_sort_func(lambda a, b: (a.sort_key > b.sort_key) - (a.sort_key < b.sort_key))
        daemon.connect("object-added", self._added)
        daemon.connect("object-changed", self._changed)
        daemon.connect("object-removed", self._removed)

    def pending_incoming(self):
        return sum(1 for p in self.daemon.objects["Invitation"].values()
                   if d.prop(p, "Direction") == "incoming" and d.prop(p, "State") == "pending")

    def _added(self, _daemon, kind, path):
        if kind in ("Application", "Contact"):
            # Rows name the application: one announced after its invitations renames them.
            for known in list(self.rows):
                self._update(known)
            return
        if kind != "Invitation":
            return
        proxy = self.daemon.get("Invitation", path)
        row = CardRow(path)
        row.incoming = d.prop(proxy, "Direction", "") == "incoming"
        row.sort_key = (-d.prop(proxy, "Created", 0), path)
        self.rows[path] = row
        (self.incoming if row.incoming else self.outgoing).append(row)
        self._update(path)

    def _changed(self, _daemon, kind, path, _names):
        if kind == "Invitation":
            self._update(path)
        elif kind == "Contact":
            # Rows say who the person is to me: a contact added or verified changes that.
            for known in list(self.rows):
                self._update(known)
        elif kind == "Application":
            for known in list(self.rows):
                self._update(known)

    def _removed(self, _daemon, kind, path):
        if kind == "Contact":
            for known in list(self.rows):
                self._update(known)
        row = self.rows.pop(path, None) if kind == "Invitation" else None
        if row is not None:
            row.get_parent().remove(row)
            self.window.update_badge()

    def _update(self, path):
        proxy = self.daemon.get("Invitation", path)
        row = self.rows.get(path)
        if proxy is None or row is None:
            return
        who = d.prop(proxy, "DisplayName", "") or d.prop(proxy, "PeerName", "")
        app = self.daemon.application_name(d.prop(proxy, "ApplicationId", ""))
        state = d.prop(proxy, "State", "pending")
        reason = d.prop(proxy, "Reason", "")
        message = d.prop(proxy, "Message", "")
        trust = self.daemon.trust(d.prop(proxy, "PeerName", ""))
        title = f"{who} invites you to {app}" if row.incoming else f"You invited {who} to {app}"
        shown_state = state_text(state, reason)
        if row.incoming and state == "pending":
            shown_state = "Waiting for your answer"
        created = d.prop(proxy, "Created", 0)
        if created:
            shown_state += " · " + GLib.DateTime.new_from_unix_local(created // 1_000_000).format("%H:%M")
        css = {"accepted": "success", "failed": "error", "declined": "warning"}.get(state)
        lines = [(f"“{message}”" if message else "", "body"), (shown_state, css),
                 (("✓ " if trust == "verified contact" else "") + trust.capitalize(), "success" if trust == "verified contact" else None)]
        row.show(title, lines, accessible=f"{title}, {state}" + (f", {reason}" if reason and state != "pending" else "") + f", {trust}")
        buttons = []
        if state == "pending":
            iface = d.PREFIX + "Invitation"
            if row.incoming:
                buttons = [("Accept", lambda: self._answer(path, "Accept"), "suggested-action"),
                           ("Decline", lambda: self._answer(path, "Decline"), None)]
            else:
                buttons = [("Cancel", lambda: self.daemon.call(path, iface, "Cancel", on_error=self.window.toast),
                            "destructive-action")]
        row.set_buttons(buttons)
        row.changed()
        self.window.update_badge()

    def _answer(self, path, method):
        row = self.rows.get(path)
        if row is not None:
            # Accept and Decline return once the inviter confirmed; no second answer meanwhile.
            row.actions.set_sensitive(False)

        def done(_values=None):
            if path in self.rows:
                self.rows[path].actions.set_sensitive(True)

        def failed(text):
            done()
            self.window.toast(text)

        self.daemon.call(path, d.PREFIX + "Invitation", method, on_done=done, on_error=failed)
