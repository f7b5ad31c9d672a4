"""People near me: every Peer object, its presence, and whether its key is a contact's."""
from gi.repository import Adw, Gtk

from . import daemon as d
from .card_row import CardRow
from .dialogs import InviteDialog, compare_codes
from .widgets import boxed_list, hide_other_pages, page


def contact_name(contact):
    return d.prop(contact, "Nickname", "") or d.prop(contact, "DisplayName", "") or "a contact"


class PeopleView:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.rows = {}
        self.widget = Gtk.Stack()
        scrolled, box = page()
        self.list = boxed_list(accessible="People near me")
        self.list.set_sort_func(lambda a, b: (a.sort_key > b.sort_key) - (a.sort_key < b.sort_key))
        box.append(self.list)
        self.widget.add_named(scrolled, "list")

        self.empty = Adw.StatusPage(icon_name="system-users-symbolic", title="Nobody near you")
        self.troubleshoot = Gtk.Button(label="Troubleshoot", halign=Gtk.Align.CENTER)
        self.troubleshoot.add_css_class("pill")
        self.troubleshoot.connect("clicked", lambda _b: window.show_view("troubleshoot"))
        self.sign_in = Gtk.Button(label="Sign in near me", halign=Gtk.Align.CENTER)
        self.sign_in.add_css_class("pill")
        self.sign_in.add_css_class("suggested-action")
        self.sign_in.connect("clicked", lambda _b: daemon.call_manager(
            "SignIn", d.GLib.Variant("(s)", ("near-me",)), on_error=window.toast))
        buttons = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12, halign=Gtk.Align.CENTER)
        buttons.append(self.sign_in)
        buttons.append(self.troubleshoot)
        self.empty.set_child(buttons)
        self.widget.add_named(self.empty, "empty")
        hide_other_pages(self.widget)

        daemon.connect("object-added", self._added)
        daemon.connect("object-changed", self._changed)
        daemon.connect("object-removed", self._removed)
        daemon.connect("manager-changed", lambda *_: self._show_empty_or_list())
        daemon.connect("owner-changed", lambda *_: self._show_empty_or_list())
        self._show_empty_or_list()

    def _added(self, _daemon, kind, path):
        if kind == "Peer":
            row = CardRow(path)
            self.rows[path] = row
            self.list.append(row)
            self._update(path)
            self._show_empty_or_list()
        elif kind in ("Contact", "Application"):
            self._update_all()

    def _changed(self, _daemon, kind, path, _names):
        if kind == "Peer":
            self._update(path)
        elif kind in ("Contact", "Application"):
            self._update_all()

    def _removed(self, _daemon, kind, path):
        if kind == "Peer" and path in self.rows:
            self.list.remove(self.rows.pop(path))
            self._show_empty_or_list()
        elif kind in ("Contact", "Application"):
            self._update_all()

    def _update_all(self):
        for path in self.rows:
            self._update(path)

    def _update(self, path):
        peer = self.daemon.get("Peer", path)
        row = self.rows.get(path)
        if peer is None or row is None:
            return
        claimed = d.prop(peer, "DisplayName", "")
        status = d.prop(peer, "PresenceStatus", "offline")
        message = d.prop(peer, "PresenceMessage", "")
        contact_path = d.prop(peer, "Contact", "/")
        contact = self.daemon.get("Contact", contact_path) if contact_path != "/" else None
        lines = []
        if contact is not None:
            verified = d.prop(contact, "Verified", False)
            title = contact_name(contact)
            if claimed and claimed != title:
                lines.append((f"calls itself {claimed}", None))
            kind = "verified contact" if verified else "contact, not verified"
        else:
            verified = False
            title = claimed or "Someone without a name yet"
            # The same name as a contact with another key is someone else: say so.
            namesakes = [c for c in self.daemon.objects["Contact"].values()
                         if claimed and claimed in (d.prop(c, "DisplayName", ""), d.prop(c, "Nickname", ""))]
            kind = "not a contact"
            if namesakes:
                lines.append((f"Not your contact {claimed}: another key uses that name", "error"))
        presence = d.status_label(status) + (f" — {message}" if message else "")
        lines.insert(0, (presence, None))
        lines.append((("✓ " if verified else "") + kind.capitalize(), "success" if verified else None))
        row.sort_key = (title.casefold(), path)
        row.show(title, lines, presence=status,
                 accessible=f"{title}, {d.status_label(status)}, {kind}")
        name = title
        buttons = [("Invite…", lambda: self._invite(path, name), "suggested-action")]
        if contact is None:
            buttons.append(("Add to contacts", lambda: self._add(path), None))
        if not verified:
            buttons.append(("Compare codes", lambda: compare_codes(
                self.window, self.daemon, peer_path=path,
                contact_path=contact_path if contact is not None else None, name=name), None))
        row.set_buttons(buttons)
        row.changed()

    def _invite(self, path, name):
        peer = self.daemon.get("Peer", path)
        InviteDialog(self.window, self.daemon, path, name, d.prop(peer, "Applications", [])).present()

    def _add(self, path):
        self.daemon.call(path, d.PREFIX + "Peer", "AddToContacts",
                         on_done=lambda _v: self.window.toast("Added to contacts, not verified yet"),
                         on_error=self.window.toast)

    def _show_empty_or_list(self):
        if self.rows:
            self.widget.set_visible_child_name("list")
            return
        signed = set(self.daemon.me("SignedIn", []) or [])
        if self.daemon.manager is None or self.daemon.manager.get_name_owner() is None:
            why = "peercollabd is not running, so nobody can be seen: start it with the button above."
            self.sign_in.set_visible(False)
        elif not signed & {"near-me", "all"}:
            why = "You are not signed in near me: sign in to see people on this network and be seen."
            self.sign_in.set_visible(True)
        else:
            why = ("Nobody else on this network is signed in, or a firewall between you blocks "
                   "discovery (UDP 5353) or the peer port. Troubleshoot checks this computer.")
            self.sign_in.set_visible(False)
        self.empty.set_description(why)
        self.widget.set_visible_child_name("empty")
