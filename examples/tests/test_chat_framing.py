"""The chat's conversation over a local socket pair, as its user sees it in a terminal
(a pty): typed lines go out one per line, received ones are shown with the name, an
over-long line and the other side leaving (EOF, reset) end it with a word."""
import os
import pty
import socket
import subprocess
import sys

from lab import wait_for

CHAT = os.path.join(os.path.dirname(__file__), "..", "chat", "peercollab-chat")
TALK = f"""
import importlib.machinery, socket, sys
chat = importlib.machinery.SourceFileLoader("chat", {CHAT!r}).load_module()
chat.talk(socket.socket(fileno=int(sys.argv[1])), "Ann")
print("ended", flush=True)
"""


class Session:
    def __init__(self):
        self.ours, theirs = socket.socketpair()
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen([sys.executable, "-c", TALK, str(theirs.fileno())], stdin=slave,
                                        stdout=slave, stderr=slave, pass_fds=(theirs.fileno(),))
        os.close(slave)
        theirs.close()
        self.screen = b""

    def shown(self, text):
        def seen():
            try:
                self.screen += os.read(self.master, 65536)
            except OSError:
                pass
            return text.encode() in self.screen
        os.set_blocking(self.master, False)
        try:
            return wait_for(f"the terminal shows {text!r}", seen, timeout=10)
        except AssertionError as error:
            raise AssertionError(f"{error}; it showed {self.screen!r}") from None

    def received(self, count):
        data = b""
        self.ours.settimeout(10)
        while len(data) < count:
            chunk = self.ours.recv(65536)
            assert chunk, f"EOF after {data!r}"
            data += chunk
        return data

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        os.close(self.master)
        self.ours.close()


def test_lines_both_ways_and_the_other_side_leaving():
    session = Session()
    try:
        session.shown("Connected to Ann.")
        os.write(session.master, "héllo there\n".encode())
        assert session.received(len("héllo there\n".encode())) == "héllo there\n".encode()
        # Two lines in one write and one line in two pieces arrive as three lines.
        session.ours.sendall(b"one\ntwo\nthr")
        session.ours.sendall(b"ee\n")
        session.shown("Ann: one")
        session.shown("Ann: two")
        session.shown("Ann: three")
        session.ours.shutdown(socket.SHUT_WR)
        session.shown("*** Ann left.")
        session.shown("ended")
    finally:
        session.close()


def test_leaving_with_ctrl_d_is_end_of_stream_for_the_other_side():
    session = Session()
    try:
        session.shown("Connected to Ann.")
        os.write(session.master, b"\x04")
        session.shown("You left.")
        session.ours.settimeout(10)
        assert session.ours.recv(10) == b""
    finally:
        session.close()


def test_a_reset_or_an_overlong_line_ends_the_chat_with_a_word():
    session = Session()
    try:
        session.shown("Connected to Ann.")
        session.ours.sendall(b"x" * 5000)
        session.shown("sent a line longer than 4096 bytes")
    finally:
        session.close()
    session = Session()
    try:
        session.shown("Connected to Ann.")
        session.ours.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        session.ours.close()
        session.shown("*** Ann left.")
    finally:
        session.process.wait(10)
        os.close(session.master)
