"""peercollab Board, the demo of the whole mission, as two people use it: Ann sees Bob near
her, invites him to draw from People's Invite dialog, he accepts in his People, a board
opens on each side (his started by his daemon, hers by her People), a stroke Ann draws
with the pointer appears on Bob's board, and Bob closing his board is shown on Ann's."""
import os
import re
import subprocess
import sys
import time

from gi.repository import Gio, GLib

from support import REPO, figures
from lab import wait_for

BOARD = os.path.join(REPO, "examples", "board", "peercollab-board")
BOARD_ID = "org.peercollab.Board"


def boards_of(host):
    """Board processes on the host's display: {pid: PEERCOLLAB_INVITATION or ""}."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if BOARD.encode() not in file.read():
                    continue
            with open(f"/proc/{pid}/environ", "rb") as file:
                env = dict(item.split(b"=", 1) for item in file.read().split(b"\0") if b"=" in item)
        except OSError:
            continue
        if env.get(b"DISPLAY", b"").decode() == host.display:
            found[int(pid)] = env.get(b"PEERCOLLAB_INVITATION", b"").decode()
    return found


def screen_mean(host, name, box):
    """The mean brightness (0 black … 1 white) of the part `box` of a screenshot."""
    path = host.screenshot(name)
    crop = f"{box.width - 8}x{box.height - 8}+{box.x + 4}+{box.y + 4}"
    result = subprocess.run(["convert", path, "-crop", crop, "-colorspace", "gray", "-format", "%[fx:mean]", "info:"],
                            capture_output=True, text=True, timeout=30, check=True)
    return float(result.stdout)


def draw(board, box, height):
    """A stroke with the pointer, as a hand would: press, 20 moves, release."""
    x, y = box.x + box.width // 4, box.y + int(box.height * height)
    board.xdotool("mousemove", str(x), str(y), "mousedown", "1")
    for step in range(1, 21):
        board.xdotool("mousemove", str(x + step * box.width // 40), str(y + step * box.height // 60))
    board.xdotool("mouseup", "1")


def reds(host, name, box):
    """How many clearly red pixels the part `box` of a screenshot has."""
    path = host.screenshot(name)
    crop = f"{box.width - 8}x{box.height - 8}+{box.x + 4}+{box.y + 4}"
    result = subprocess.run(["convert", path, "-crop", crop, "-fx", "r>0.6 && g<0.4 && b<0.4 ? 1 : 0",
                             "-format", "%[fx:mean*w*h]", "info:"], capture_output=True, text=True, timeout=60, check=True)
    return float(result.stdout)


def timing(path, event):
    with open(path) as file:
        for line in file:
            match = re.match(rf"timing ([0-9.]+) {event} 1$", line.strip())
            if match:
                return float(match.group(1))
    return None


def test_invite_to_draw_and_a_stroke_appears_on_the_other_board(pair):
    lab, ann, bob = pair
    started = time.monotonic()
    import ui
    a11y = ann.a11y_address()
    os.environ["AT_SPI_BUS_ADDRESS"] = a11y
    # What the daemons start (Bob's board) gets the shared accessibility bus and the timing.
    for host in (ann, bob):
        host.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "UpdateActivationEnvironment", GLib.Variant("(a{ss})", ({
                               "AT_SPI_BUS_ADDRESS": a11y, "GDK_BACKEND": "x11", "GSK_RENDERER": "cairo",
                               "GTK_A11Y": "atspi", "PEERCOLLAB_BOARD_TIMING": "1", "DISPLAY": host.display},)),
                           None, Gio.DBusCallFlags.NONE, 10000, None)
        host.env["PEERCOLLAB_BOARD_TIMING"] = "1"
        host.start_app(a11y)
        host.ui = ui.UI(host.app.pid, host.display)
        host.ui.wait("People connected", "label", prefix="You are not signed in near me", timeout=30)
    try:
        # Each opens Board once, which registers it; People then offers it.
        for host in (ann, bob):
            env = dict(host.env, DISPLAY=host.display, DBUS_SESSION_BUS_ADDRESS=host.address,
                       AT_SPI_BUS_ADDRESS=a11y, GDK_BACKEND="x11", GSK_RENDERER="cairo", GTK_A11Y="atspi")
            first = lab.spawn([sys.executable, BOARD], open(os.path.join(host.home, "board-alone.log"), "w"), env=env)
            board = ui.UI(first.pid, host.display)
            board.wait("the lone board says how to start", "label", prefix="Board status: Not drawing with anyone yet")
            host.screenshot(f"board-alone-{host.name.lower()}")
            first.terminate()
            first.wait(10)
            host.manager("SignIn", GLib.Variant("(s)", ("near-me",)))

        ann.ui.show_view("Near me")
        row = ann.ui.wait("Bob near Ann", "list item", prefix="Bob, Online, ", timeout=30)
        wait_for("Bob's Board is known to Ann", lambda: any(
            BOARD_ID in p.get("Applications", []) for i in ann.managed_objects().values()
            if (p := i.get("org.peercollab.PeerCollab1.Peer"))))
        ann.ui.press_in(row, "Invite…")
        dialog = ann.ui.wait("the Invite dialog", name="Invite Bob")
        ann.ui.wait("it offers Board", "label", "Board", root=dialog.accessible)
        ann.screenshot("board-invite-dialog")
        ann.ui.press(ann.ui.wait("Send", "push button", "Send invitation"))
        bob.ui.show_view("Invitations")
        invitation_row = bob.ui.wait("Bob's People shows the invitation", "list item",
                                     prefix="Ann invites you to Board, pending")
        bob.ui.press_in(invitation_row, "Accept")
        ann.ui.wait("Ann's dialog shows it accepted", prefix="Invitation status: Bob: Accepted")

        # One board on each side, started for this invitation.
        ann_pid = wait_for("Ann's board started by People", lambda: next(
            (p for p, inv in boards_of(ann).items() if inv), None))
        bob_pid = wait_for("Bob's board started by his daemon", lambda: next(
            (p for p, inv in boards_of(bob).items() if inv), None))
        for host, pid, direction in ((ann, ann_pid, "outgoing"), (bob, bob_pid, "incoming")):
            invitation = boards_of(host)[pid]   # each side names the invitation its own way
            assert host.get(invitation, "org.peercollab.PeerCollab1.Invitation", "Direction") == direction
            assert host.get(invitation, "org.peercollab.PeerCollab1.Invitation", "ApplicationId") == BOARD_ID
        ann_board, bob_board = ui.UI(ann_pid, ann.display), ui.UI(bob_pid, bob.display)
        ann_board.wait("Ann's board is connected", "label", "Board status: Drawing with Bob", timeout=30)
        bob_board.wait("Bob's board is connected", "label", "Board status: Drawing with Ann", timeout=30)
        area = bob_board.wait("Bob's board, empty", "image", "Drawing board: 0 strokes from Ann, 0 of yours")
        bob_box = ui.Atspi.Component.get_extents(area.accessible, ui.Atspi.CoordType.SCREEN)
        empty = screen_mean(bob, "board-bob-empty", bob_box)

        # Ann draws a stroke with the pointer.
        canvas = ann_board.wait("Ann's canvas", "image", prefix="Drawing board:")
        box = ui.Atspi.Component.get_extents(canvas.accessible, ui.Atspi.CoordType.SCREEN)
        draw(ann_board, box, 0.3)
        ann_board.wait("Ann's board counts her stroke", "image", "Drawing board: 0 strokes from Bob, 1 of yours")
        bob_board.wait("the stroke arrived on Bob's board", "image", "Drawing board: 1 stroke from Ann, 0 of yours")
        # A 3-pixel line a quarter of the board long darkens it by about 0.001.
        wait_for("and is painted there", lambda: screen_mean(bob, "board-bob-stroke", bob_box) < empty - 0.0003)
        ann.screenshot("board-ann-stroke")
        sent = timing(ann.app_log, "stroke-sent")
        drawn = wait_for("Bob's board noted when it painted it", lambda: timing(bob.daemon_log, "stroke-drawn"))
        begun = timing(ann.app_log, "stroke-begun")
        first = timing(bob.daemon_log, "stroke-begin-drawn")
        figures(lab, f"board stroke: Ann's pointer pressed → its start painted on Bob's board "
                     f"{1000 * (first - begun):.1f} ms; released → the whole stroke painted there "
                     f"{1000 * (drawn - sent):.1f} ms")

        # And the other way: Bob draws in red, Ann's board shows it.
        bob_board.click(bob_board.wait("Bob's Red", "check box", "Red"))  # GTK 4.8 gives check buttons no AT-SPI action
        draw(bob_board, bob_box, 0.6)
        ann_board.wait("Bob's stroke on Ann's board", "image", "Drawing board: 1 stroke from Bob, 1 of yours")
        assert reds(ann, "board-ann-two-strokes", box) > 100, \
            "Bob's stroke is red on Ann's board too"
        bob.screenshot("board-bob-two-strokes")
        # Narrow, the board still has its canvas, palette and status.
        subprocess.run(["xdotool", "search", "--sync", "--pid", str(ann_pid), "--name", "Board", "windowsize", "%@",
                        "360", "600"], env=dict(os.environ, DISPLAY=ann.display), timeout=30, check=True,
                       capture_output=True)
        wait_for("Ann's board is narrow", lambda: ui.Atspi.Component.get_extents(
            canvas.accessible, ui.Atspi.CoordType.SCREEN).width < 400)
        ann_board.wait("its status still reads", "label", "Board status: Drawing with Bob")
        ann.screenshot("board-ann-360")

        # Bob closes his board: Ann's says he left.
        bob_board.press_button("the Close button of Bob's board", "Close")
        ann_board.wait("Ann's board shows Bob left", "label", prefix="Board status: Bob left the board")
        ann.screenshot("board-ann-bob-left")
        figures(lab, f"board end-to-end test {time.monotonic() - started:.1f} s")
    finally:
        for host in (ann, bob):
            for pid in boards_of(host):
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
