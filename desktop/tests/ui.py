"""Driving the real app through its accessibility tree (AT-SPI), as a screen reader would:
find a node by role and name, press it with its first action, wait for text to show."""
import os
import subprocess
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402

from lab import wait_for  # noqa: E402

MAX_NODES = 20000


class Node:
    def __init__(self, accessible, role, name):
        self.accessible = accessible
        self.role = role
        self.name = name

    def __repr__(self):
        return f"<{self.role} {self.name!r}>"


class UI:
    """The app of one process (found by pid on the accessibility bus)."""

    def __init__(self, pid, display, timeout=30):
        self.pid = pid
        self.display = display
        self.app = wait_for(f"the app (pid {pid}) on the accessibility bus", self._find_app, timeout)

    def _find_app(self):
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            child = desktop.get_child_at_index(i)
            if child is not None and child.get_process_id() == self.pid:
                return child
        return None

    def nodes(self, root=None):
        """Every node below `root` (the app), read fresh. The app marks the views not on
        screen hidden, so they are not in the tree (GTK 4.8 sets no SHOWING state to go by)."""
        root = root or self.app
        root.clear_cache()
        result = []
        stack = [root]
        while stack and len(result) < MAX_NODES:
            accessible = stack.pop()
            try:
                role = accessible.get_role_name()
                name = accessible.get_name() or ""
                count = accessible.get_child_count()
            except GLib.Error:
                continue  # gone meanwhile
            result.append(Node(accessible, role, name))
            for i in reversed(range(count)):
                try:
                    child = accessible.get_child_at_index(i)
                except GLib.Error:
                    continue
                if child is not None:
                    stack.append(child)
        return result

    def find_all(self, role=None, name=None, prefix=None, contains=None, root=None):
        found = []
        for node in self.nodes(root):
            if role and node.role != role:
                continue
            if name is not None and node.name != name:
                continue
            if prefix is not None and not node.name.startswith(prefix):
                continue
            if contains is not None and contains not in node.name:
                continue
            found.append(node)
        return found

    def find(self, role=None, name=None, prefix=None, contains=None, root=None):
        found = self.find_all(role, name, prefix, contains, root)
        return found[0] if found else None

    def wait(self, what, role=None, name=None, prefix=None, contains=None, root=None, timeout=20):
        try:
            return wait_for(what, lambda: self.find(role, name, prefix, contains, root), timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}\nwhat the app showed:\n{self.dump()}") from None

    def wait_gone(self, what, role=None, name=None, prefix=None, contains=None, timeout=20):
        wait_for(what, lambda: self.find(role, name, prefix, contains) is None, timeout)

    def press(self, node):
        """The node's first action: click for buttons, toggle for switches and tabs."""
        accessible = node.accessible if isinstance(node, Node) else node
        if not Atspi.Action.do_action(accessible, 0):
            raise AssertionError(f"{node} refused its action")

    def button(self, label, root=None):
        """A push button showing `label` (GTK 4.8 names some, as in AdwMessageDialog,
        "label label": the label's text and the button labelled by it)."""
        found = self.find_all("push button", root=root)
        return next((n for n in found if n.name in (label, f"{label} {label}")), None)

    def press_button(self, what, label, root=None, timeout=20):
        button = wait_for(what, lambda: self.button(label, root.accessible if root else None), timeout)
        self.press(button)

    def press_in(self, row, label, timeout=20):
        """Presses the button named `label` inside the node `row`."""
        self.press_button(f"a button {label!r} in {row}", label, row, timeout)

    def xdotool(self, *args):
        subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=self.display), timeout=30, check=True,
                       capture_output=True)

    def type_into(self, node, text, enter=True):
        """Clicks the middle of a text field and types, as a user would (GTK 4.8 does not
        take text through AT-SPI's EditableText); replaces what was there."""
        box = Atspi.Component.get_extents(node.accessible, Atspi.CoordType.SCREEN)
        self.xdotool("mousemove", str(box.x + box.width // 2), str(box.y + box.height // 2), "click", "1")
        self.xdotool("key", "ctrl+a", "BackSpace")
        self.xdotool("type", "--delay", "10", text)
        if enter:
            self.xdotool("key", "Return")

    def click(self, node):
        """A real pointer click in the middle of the node."""
        box = Atspi.Component.get_extents(node.accessible, Atspi.CoordType.SCREEN)
        self.xdotool("mousemove", str(box.x + box.width // 2), str(box.y + box.height // 2), "click", "1")

    def scroll_down(self, node, clicks=10):
        box = Atspi.Component.get_extents(node.accessible, Atspi.CoordType.SCREEN)
        self.xdotool("mousemove", str(box.x + box.width // 2), str(box.y + box.height // 2),
                     "click", "--repeat", str(clicks), "5")

    def show_view(self, title):
        """Switches views and returns once the switcher says the view is the one shown."""
        tab = self.wait(f"the view switcher's {title!r}", "page tab", title)
        self.press(tab)
        wait_for(f"the {title} view shown", lambda: all(
            n.accessible.get_state_set().contains(Atspi.StateType.SELECTED) for n in self.find_all("page tab", title)))

    def names(self, role=None):
        return [n.name for n in self.nodes() if role is None or n.role == role]

    def dump(self):
        return "\n".join(repr(n) for n in self.nodes() if n.name)


def settle(seconds=0.3):
    """Lets the last frame reach the screen before a screenshot (nothing is asserted on it)."""
    time.sleep(seconds)
