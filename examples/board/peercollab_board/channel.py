"""Messages over an application channel: one JSON object per line on a connected stream
socket, driven by the GLib main loop (never blocking the window). Whatever the other side
sends is untrusted: lines are bounded, and a line that is not JSON ends the channel."""
import json
import socket

from gi.repository import GLib

MAX_LINE = 64 * 1024          # bytes of one message
MAX_QUEUED = 4 * 1024 * 1024  # bytes waiting to be sent; beyond it the other side is stuck


class Channel:
    """`on_message(dict)` for each message, `on_closed(reason)` once when it ends: "" when
    the other side left (EOF, a reset), else what was wrong."""

    def __init__(self, sock, on_message, on_closed):
        sock.setblocking(False)
        self.sock = sock
        self.on_message = on_message
        self.on_closed = on_closed
        self.received = b""
        self.queued = b""
        self.closed = False
        self._out_watch = None
        self._in_watch = GLib.io_add_watch(sock.fileno(), GLib.PRIORITY_DEFAULT,
                                           GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, self._readable)

    def send(self, message):
        if self.closed:
            return
        self.queued += json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if len(self.queued) > MAX_QUEUED:
            return self._close("the other side stopped reading")
        self._flush()

    def _flush(self, *_args):
        try:
            while self.queued:
                sent = self.sock.send(self.queued)
                self.queued = self.queued[sent:]
        except BlockingIOError:
            pass
        except OSError:
            self._close("")
            return False
        if self.closed:
            return False
        if self.queued and self._out_watch is None:
            self._out_watch = GLib.io_add_watch(self.sock.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_OUT, self._writable)
        return bool(self.queued)

    def _writable(self, *_args):
        if not self._flush() and self._out_watch is not None:
            GLib.source_remove(self._out_watch)
            self._out_watch = None
        return True

    def _readable(self, *_args):
        # Always True: closing removes this watch itself (allowed inside its own callback).
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:  # ECONNRESET: the other side went without a goodbye
            data = b""
        if not data:
            self._close("")
            return True
        self.received += data
        while not self.closed and b"\n" in self.received:
            line, self.received = self.received.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                self._close("the other side sent something that is not a board message")
                return True
            self.on_message(message)
        if not self.closed and len(self.received) > MAX_LINE:
            self._close(f"the other side sent a message over {MAX_LINE} bytes")
        return True

    def leave(self):
        """Tells the other side I am done (it reads end of stream), and stops."""
        if not self.closed:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self._close(None)

    def _close(self, reason):
        if self.closed:
            return
        self.closed = True
        for watch in (self._in_watch, self._out_watch):
            if watch is not None:
                GLib.source_remove(watch)
        self._in_watch = self._out_watch = None
        self.sock.close()
        if reason is not None:
            self.on_closed(reason)
