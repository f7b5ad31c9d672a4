"""Contacts: the keys I pinned, online first, with what each may see and whether I follow it."""
from gi.repository import Adw, Gio, GLib, Gtk

from . import daemon as d
from .card_row import CardRow
from .dialogs import InviteDialog, compare_codes
from .widgets import boxed_list, name_for_screen_readers, page

CARD_LIMIT = 64 * 1024


class ContactsView:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.rows = {}
        self.widget, box = page()
        buttons = Gtk.FlowBox(selection_mode=Gtk.SelectionMode.NONE, column_spacing=6, row_spacing=6,
                              max_children_per_line=2, homogeneous=True)
        import_button = Gtk.Button(label="Import card…")
        import_button.connect("clicked", self._choose_card)
        link_button = Gtk.Button(label="Add by link…")
        link_button.connect("clicked", self._ask_link)
        buttons.append(import_button)
        buttons.append(link_button)
        box.append(buttons)
        self.list = boxed_list(
            placeholder="No contacts yet. Import someone's card, add them by link, or add someone near you.",
            accessible="Contacts")
        self.list.set_sort_func(lambda a, b: (a.sort_key > b.sort_key) - (a.sort_key < b.sort_key))
        box.append(self.list)
        daemon.connect("object-added", self._added)
        daemon.connect("object-changed", self._changed)
        daemon.connect("object-removed", self._removed)

    def _added(self, _daemon, kind, path):
        if kind == "Contact":
            row = CardRow(path)
            row.nickname = Gtk.Entry(placeholder_text="Nickname (my name for them)")
            name_for_screen_readers(row.nickname, "Nickname")
            row.nickname.connect("activate", lambda entry, p=path: self._set_nickname(p, entry.get_text()))
            row.extra.append(row.nickname)
            row.may_see = self._check(row, path, "May see my presence", "SubscribeAllowed")
            row.follow = self._check(row, path, "Follow their presence", "Subscribed")
            self.rows[path] = row
            self.list.append(row)
            self._update(path)

    def _check(self, row, path, label, name):
        """A labelled switch for a boolean property of the contact (a switch, not a check
        button: GTK 4.8 gives check buttons no accessible action)."""
        line = Gtk.Box(spacing=12)
        text = Gtk.Label(label=label, xalign=0, hexpand=True, wrap=True)
        switch = Gtk.Switch(valign=Gtk.Align.CENTER)
        name_for_screen_readers(switch, label)
        line.append(text)
        line.append(switch)
        switch.quiet = False

        def toggled(button, _param):
            if not button.quiet:
                self.daemon.set_property(path, d.PREFIX + "Contact", name, GLib.Variant("b", button.get_active()),
                                         on_error=self.window.toast)

        switch.connect("notify::active", toggled)
        row.extra.append(line)
        return switch

    def _changed(self, _daemon, kind, path, _names):
        if kind == "Contact":
            self._update(path)

    def _removed(self, _daemon, kind, path):
        if kind == "Contact" and path in self.rows:
            self.list.remove(self.rows.pop(path))

    def _update(self, path):
        contact = self.daemon.get("Contact", path)
        row = self.rows.get(path)
        if contact is None or row is None:
            return
        nickname = d.prop(contact, "Nickname", "")
        claimed = d.prop(contact, "DisplayName", "")
        title = nickname or claimed or d.prop(contact, "PeerName", "")
        online = d.prop(contact, "Online", False)
        status = d.prop(contact, "PresenceStatus", "offline") if online else "offline"
        message = d.prop(contact, "PresenceMessage", "")
        verified = d.prop(contact, "Verified", False)
        presence = d.status_label(status) if online else "Not connected"
        if online and message:
            presence += f" — {message}"
        lines = [(presence, None)]
        if nickname and claimed and claimed != nickname:
            lines.append((f"calls itself {claimed}", None))
        lines.append(("✓ Verified" if verified else "Not verified: compare codes to be sure it is them",
                      "success" if verified else "warning"))
        row.sort_key = (not online, title.casefold(), path)
        row.show(title, lines, presence=status,
                 accessible=f"{title}, {d.status_label(status) if online else 'not connected'}, "
                            f"{'verified' if verified else 'not verified'}")
        if not row.nickname.has_focus() and row.nickname.get_text() != nickname:
            row.nickname.set_text(nickname)
        for check, name in ((row.may_see, "SubscribeAllowed"), (row.follow, "Subscribed")):
            check.quiet = True
            check.set_active(bool(d.prop(contact, name, False)))
            check.quiet = False
        buttons = []
        if online:
            buttons.append(("Invite…", lambda: InviteDialog(
                self.window, self.daemon, path, title, d.prop(contact, "Applications", [])).present(),
                "suggested-action"))
        if not verified:
            buttons.append(("Compare codes", lambda: compare_codes(
                self.window, self.daemon, contact_path=path, name=title), None))
        buttons.append(("Remove", lambda: self._confirm_remove(path, title), None))
        row.set_buttons(buttons)
        row.changed()

    def _set_nickname(self, path, text):
        self.daemon.set_property(path, d.PREFIX + "Contact", "Nickname", GLib.Variant("s", text.strip()),
                                 on_error=self.window.toast)

    def _confirm_remove(self, path, title):
        dialog = Adw.MessageDialog(
            transient_for=self.window, modal=True, heading=f"Remove {title}?",
            body="Their key is no longer pinned: you would have to verify them again.")
        dialog.add_response("cancel", "Keep")
        dialog.add_response("remove", "Remove")
        dialog.set_response_appearance("remove", Adw.ResponseAppearance.DESTRUCTIVE)
        dialog.set_close_response("cancel")
        dialog.connect("response", lambda _d, response: response == "remove" and self.daemon.call(
            path, d.PREFIX + "Contact", "Remove", on_error=self.window.toast))
        dialog.present()

    # Importing

    def _choose_card(self, _button):
        chooser = Gtk.FileChooserNative(title="Import a contact card", transient_for=self.window,
                                        action=Gtk.FileChooserAction.OPEN, accept_label="Import")
        cards = Gtk.FileFilter(name="Contact cards")
        cards.add_pattern("*.vcf")
        cards.add_mime_type("text/vcard")
        chooser.add_filter(cards)
        # Start in the home folder, not in Recent (where typing searches instead of going to a path).
        chooser.set_current_folder(Gio.File.new_for_path(GLib.get_home_dir()))
        self._chooser = chooser

        def chosen(dialog, response):
            self._chooser = None
            if response == Gtk.ResponseType.ACCEPT:
                self.import_file(dialog.get_file().get_path())

        chooser.connect("response", chosen)
        chooser.show()

    def import_file(self, path):
        """Imports a card file: a verified contact (the card carries the key)."""
        try:
            with open(path, "rb") as file:
                data = file.read(CARD_LIMIT + 1)
        except OSError as error:
            self.window.toast(f"Could not read {path}: {error.strerror}")
            return
        if len(data) > CARD_LIMIT:
            self.window.toast("That file is larger than a contact card can be (64 KiB).")
            return
        text = data.decode("utf-8", errors="replace")
        self.daemon.call_manager("AddContact", GLib.Variant("(s)", (text,)),
                                 on_done=self._imported, on_error=self.window.toast)

    def _imported(self, values):
        contact = self.daemon.get("Contact", values[0])
        name = d.prop(contact, "DisplayName", "") or "The contact"
        self.window.toast(f"{name} added as a verified contact")
        self.window.show_view("contacts")

    def _ask_link(self, _button):
        dialog = Adw.MessageDialog(
            transient_for=self.window, modal=True, heading="Add by link",
            body="Paste a contact link (peercollab:NAME@HOST:PORT). The person must be reachable there now; "
                 "compare codes afterwards to verify them.")
        entry = Gtk.Entry(placeholder_text="peercollab:…")
        name_for_screen_readers(entry, "Contact link")
        dialog.set_extra_child(entry)
        dialog.add_response("cancel", "Cancel")
        dialog.add_response("add", "Add")
        dialog.set_response_appearance("add", Adw.ResponseAppearance.SUGGESTED)
        dialog.set_default_response("add")
        dialog.set_close_response("cancel")
        entry.connect("activate", lambda _e: dialog.response("add"))
        dialog.connect("response", lambda _d, response: response == "add" and self.add_link(entry.get_text().strip()))
        dialog.present()

    def add_link(self, link):
        def connected(values):
            self.daemon.call(values[0], d.PREFIX + "Peer", "AddToContacts",
                             on_done=lambda _v: self.window.toast("Added; compare codes to verify them"),
                             on_error=self.window.toast)

        self.daemon.call_manager("Connect", GLib.Variant("(s)", (link,)), on_done=connected,
                                 on_error=self.window.toast)
