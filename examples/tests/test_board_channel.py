"""The board's messages over a local socket pair, on a GLib main loop as in the app: JSON
lines both ways whatever the pieces, and every way a channel ends (the other side leaving
with EOF or a reset, garbage, an over-long line), plus strokes from a hostile side."""
import json
import os
import socket
import sys

from gi.repository import GLib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "board"))

from lab import wait_for  # noqa: E402
from peercollab_board.channel import MAX_LINE, Channel  # noqa: E402
from peercollab_board.strokes import MAX_POINTS, Strokes  # noqa: E402


class Side:
    def __init__(self, sock):
        self.messages = []
        self.closed = []
        self.channel = Channel(sock, self.messages.append, self.closed.append)


def pair():
    a, b = socket.socketpair()
    return Side(a), b


def test_messages_arrive_whole_and_in_order_however_they_are_cut():
    side, raw = pair()
    raw.sendall(b'{"type":"begin","id":1,"x":0.5,"y":0.5}\n{"type":"po')
    raw.sendall(b'int","id":1,"x":0.6,"y":0.6}\n')
    wait_for("two messages", lambda: len(side.messages) == 2)
    assert [m["type"] for m in side.messages] == ["begin", "point"]
    for index in range(1000):
        side.channel.send({"type": "point", "id": 1, "x": index / 1000, "y": 0})
    received = b""
    raw.setblocking(False)

    def drained():
        nonlocal received
        try:
            received += raw.recv(1 << 20)
        except BlockingIOError:
            pass
        return received.count(b"\n") == 1000
    wait_for("1,000 messages the other way", drained)
    assert [json.loads(line)["x"] for line in received.splitlines()] == [i / 1000 for i in range(1000)]
    assert side.closed == []


def test_the_other_side_leaving_is_eof_or_a_reset():
    side, raw = pair()
    raw.shutdown(socket.SHUT_WR)
    wait_for("closed", lambda: side.closed == [""])
    side, raw = pair()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    side.channel.send({"type": "end", "id": 1})   # unread by the other side: its close resets
    raw.close()
    wait_for("closed by the reset", lambda: side.closed == [""])


def test_leaving_is_end_of_stream_for_the_other_side():
    side, raw = pair()
    side.channel.send({"type": "end", "id": 7})
    side.channel.leave()
    raw.settimeout(10)
    assert raw.recv(100) == b'{"type":"end","id":7}\n'
    assert raw.recv(100) == b""
    assert side.closed == []   # leaving myself is no news


def test_garbage_and_overlong_lines_end_the_channel_with_the_reason():
    side, raw = pair()
    raw.sendall(b"[1, 2]\n")
    wait_for("closed", lambda: side.closed)
    assert "not a board message" in side.closed[0]
    side, raw = pair()
    raw.sendall(b"not json\n")
    wait_for("closed", lambda: side.closed)
    side, raw = pair()
    raw.sendall(b"x" * (MAX_LINE + 10))
    wait_for("closed", lambda: side.closed)
    assert "over" in side.closed[0]


def test_hostile_strokes_are_clamped_bounded_or_ignored():
    strokes = Strokes()
    assert strokes.apply({"type": "begin", "id": 1, "x": 5, "y": -3, "color": 99}) is None
    stroke = strokes.theirs[1]
    assert stroke.points == [(1.0, 0.0)] and stroke.color == 0
    for bad in ({"type": "begin", "id": "x", "x": 0, "y": 0}, {"type": "begin", "id": 2, "x": "a", "y": 0},
                {"type": "begin", "id": 3, "x": float("nan"), "y": 0}, {"type": "point", "id": 99, "x": 0, "y": 0},
                {"type": "begin", "id": True, "x": 0, "y": 0}, {"id": 1}, {"type": "begin", "id": 1, "x": 0, "y": 0}):
        assert strokes.apply(bad) is None
    assert list(strokes.theirs) == [1] and strokes.theirs[1].points == [(1.0, 0.0)]
    for _ in range(MAX_POINTS + 100):
        strokes.apply({"type": "point", "id": 1, "x": 0.5, "y": 0.5})
    assert len(stroke.points) == MAX_POINTS
    assert strokes.apply({"type": "end", "id": 1}) == 1
    assert strokes.apply({"type": "end", "id": 1}) is None   # once
    assert strokes.finished("theirs") == 1


def teardown_module():
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass
