"""One list row for a person or an invitation: a presence dot, a title, lines of detail
and a wrapping set of buttons, so it reads the same at 800 px and at 360 px."""
from gi.repository import Gtk

from .widgets import name_for_screen_readers

DOT_CLASSES = {"online": "success", "offline": "dim-label", "busy": "error", "on-the-phone": "error"}


class CardRow(Gtk.ListBoxRow):
    def __init__(self, key):
        super().__init__(activatable=False)
        self.key = key
        self.sort_key = ()
        outer = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6,
                        margin_top=10, margin_bottom=10, margin_start=12, margin_end=12)
        top = Gtk.Box(spacing=10)
        self.dot = Gtk.Label(label="●", valign=Gtk.Align.START)
        self.dot.set_visible(False)
        top.append(self.dot)
        texts = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2, hexpand=True)
        self.title = Gtk.Label(xalign=0, wrap=True, wrap_mode=2)
        self.title.add_css_class("heading")
        texts.append(self.title)
        self.lines = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2)
        texts.append(self.lines)
        top.append(texts)
        outer.append(top)
        self.extra = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        outer.append(self.extra)
        self.actions = Gtk.FlowBox(selection_mode=Gtk.SelectionMode.NONE, column_spacing=6, row_spacing=6,
                                   max_children_per_line=4, homogeneous=False)
        outer.append(self.actions)
        self.set_child(outer)
        self._buttons = {}

    def show(self, title, lines, presence=None, accessible=None):
        """Sets the text; each line is (text, css class or None)."""
        self.title.set_label(title)
        child = self.lines.get_first_child()
        while child is not None:
            following = child.get_next_sibling()
            self.lines.remove(child)
            child = following
        for text, css in lines:
            if not text:
                continue
            label = Gtk.Label(label=text, xalign=0, wrap=True, wrap_mode=2)
            label.add_css_class(css or "dim-label")
            self.lines.append(label)
        if presence is not None:
            self.dot.set_visible(True)
            for css in ("success", "dim-label", "error", "warning"):
                self.dot.remove_css_class(css)
            self.dot.add_css_class(DOT_CLASSES.get(presence, "warning"))
        name_for_screen_readers(self, accessible or ", ".join([title] + [t for t, _c in lines if t]))

    def set_buttons(self, buttons):
        """Shows exactly these buttons, in order: [(label, callback, css or None)]."""
        wanted = [label for label, _cb, _css in buttons]
        if wanted == list(self._buttons):
            for label, callback, _css in buttons:
                self._buttons[label].callback = callback
            return
        child = self.actions.get_first_child()
        while child is not None:
            following = child.get_next_sibling()
            self.actions.remove(child)
            child = following
        self._buttons = {}
        for label, callback, css in buttons:
            button = Gtk.Button(label=label)
            if css:
                button.add_css_class(css)
            button.callback = callback
            button.connect("clicked", lambda b: b.callback())
            self.actions.append(button)
            self._buttons[label] = button
        self.actions.set_visible(bool(buttons))
