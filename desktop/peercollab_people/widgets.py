"""Small building blocks every view uses: a scrolling clamped page, boxed lists,
and accessible names (screen readers and the tests read the same tree)."""
from gi.repository import Adw, GObject, Gtk


def name_for_screen_readers(widget, text):
    """Sets what assistive technologies call the widget."""
    widget.update_property([Gtk.AccessibleProperty.LABEL], [text])


def hide_other_pages(stack):
    """GTK 4.8 keeps a stack's hidden pages in the accessibility tree: mark them hidden, so
    that a screen reader (and a test) reads only the page on screen."""
    def update(*_args):
        visible = stack.get_visible_child()
        child = stack.get_first_child()
        while child is not None:
            child.update_state([Gtk.AccessibleState.HIDDEN], [child is not visible])
            child = child.get_next_sibling()

    stack.connect("notify::visible-child", update)
    update()


def page():
    """A vertical box in a clamp in a scrolled window: returns (outer, box)."""
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=18)
    box.set_margin_top(18)
    box.set_margin_bottom(18)
    box.set_margin_start(12)
    box.set_margin_end(12)
    clamp = Adw.Clamp(maximum_size=720, tightening_threshold=480)
    clamp.set_child(box)
    scrolled = Gtk.ScrolledWindow(hscrollbar_policy=Gtk.PolicyType.NEVER, vexpand=True)
    scrolled.set_child(clamp)
    return scrolled, box


def heading(text):
    label = Gtk.Label(label=text, xalign=0)
    label.add_css_class("heading")
    return label


def boxed_list(placeholder=None, accessible=None):
    """A list box styled as a card list, with an optional text shown while empty."""
    listbox = Gtk.ListBox(selection_mode=Gtk.SelectionMode.NONE)
    listbox.add_css_class("boxed-list")
    if placeholder:
        label = Gtk.Label(label=placeholder, wrap=True, margin_top=12, margin_bottom=12,
                          margin_start=12, margin_end=12)
        label.add_css_class("dim-label")
        listbox.set_placeholder(label)
    if accessible:
        name_for_screen_readers(listbox, accessible)
    return listbox


def small_button(label, callback, *css):
    button = Gtk.Button(label=label, valign=Gtk.Align.CENTER)
    for name in css:
        button.add_css_class(name)
    button.connect("clicked", lambda _b: callback())
    return button


def switch_row(title, subtitle, on_toggled):
    """An action row with a switch; `on_toggled(active)` only for the user's flips."""
    row = Adw.ActionRow(title=title, subtitle=subtitle or "")
    switch = Gtk.Switch(valign=Gtk.Align.CENTER)
    row.add_suffix(switch)
    row.set_activatable_widget(switch)
    row.switch = switch
    row.quiet = False

    def toggled(_switch, _param):
        if not row.quiet:
            on_toggled(switch.get_active())

    switch.connect("notify::active", toggled)

    def set_active(active):
        row.quiet = True
        switch.set_active(bool(active))
        row.quiet = False

    row.set_active = set_active
    return row


def copy_to_clipboard(widget, text):
    widget.get_clipboard().set(GObject.Value(str, text))
