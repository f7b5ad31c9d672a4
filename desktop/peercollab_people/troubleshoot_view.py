"""Troubleshoot: the daemon's Diagnose() checks, each failing one with its advice."""
from gi.repository import Gtk

from .card_row import CardRow
from .widgets import boxed_list, page


class TroubleshootView:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.widget, box = page()
        title = Gtk.Label(label="Troubleshoot", xalign=0)
        title.add_css_class("title-2")
        box.append(title)
        intro = Gtk.Label(
            label="What this computer's peercollabd checks about itself: sign-in, the network, "
                  "the firewall and its store.", wrap=True, xalign=0)
        intro.add_css_class("dim-label")
        box.append(intro)
        self.backend = Gtk.Label(xalign=0, wrap=True)
        box.append(self.backend)
        self.list = boxed_list(placeholder="Checking…", accessible="Checks")
        box.append(self.list)
        again = Gtk.Button(label="Check again", halign=Gtk.Align.CENTER)
        again.add_css_class("pill")
        again.connect("clicked", lambda _b: self.run())
        box.append(again)
        daemon.connect("owner-changed", lambda _d, running: running and self.run())

    def run(self):
        """Diagnose is asked for when the view is shown or on request, never on a timer."""
        self.daemon.call_manager("Diagnose", on_done=self._show, on_error=self._failed)

    def _clear(self):
        child = self.list.get_first_child()
        while child is not None:
            following = child.get_next_sibling()
            if isinstance(child, Gtk.ListBoxRow):
                self.list.remove(child)
            child = following

    def _failed(self, text):
        self._clear()
        row = CardRow("error")
        row.show("peercollabd did not answer", [(text, "error"), (
            "Start it with systemctl --user start peercollab, or see journalctl --user -u peercollab.", None)])
        self.list.append(row)

    def _show(self, values):
        report = values[0]
        self._clear()
        self.backend.set_label(f"Discovery: {report.get('backend', 'unknown')}")
        # Failing checks first: they are what the user came for.
        checks = sorted(report.get("checks", []), key=lambda check: check[1])
        for subject, ok, detail, advice in checks:
            row = CardRow(subject)
            lines = [("✓ OK" if ok else "✗ Problem", "success" if ok else "error"), (detail, None)]
            if not ok and advice:
                lines.append((advice, "body"))
            row.show(subject.capitalize(), lines, presence="online" if ok else "busy",
                     accessible=f"{subject}: {'ok' if ok else 'failing'}, {detail}" + (
                         f". Advice: {advice}" if not ok and advice else ""))
            self.list.append(row)
