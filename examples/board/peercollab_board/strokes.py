"""The strokes on the board, mine and the other side's, in coordinates from 0 to 1 so that
windows of different sizes show the same drawing. Bounded whatever the other side sends."""

COLORS = [("Black", (0.1, 0.1, 0.1)), ("Red", (0.85, 0.15, 0.15)),
          ("Blue", (0.15, 0.35, 0.85)), ("Green", (0.1, 0.6, 0.2))]
MAX_STROKES = 5000  # from one side
MAX_POINTS = 5000   # in one stroke


class Stroke:
    def __init__(self, color, x, y):
        self.color = color
        self.points = [(x, y)]
        self.done = False


def _coordinate(value):
    """A coordinate from the other side: a number, clamped to the board."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return min(1.0, max(0.0, float(value)))


class Strokes:
    def __init__(self):
        self.mine = {}    # id → Stroke
        self.theirs = {}  # their id → Stroke
        self.order = []   # (side, id) in the order they began, for drawing
        self.next_id = 0

    def begin_mine(self, color, x, y):
        self.next_id += 1
        self.mine[self.next_id] = Stroke(color, x, y)
        self.order.append(("mine", self.next_id))
        return self.next_id

    def apply(self, message):
        """One message from the other side (begin, point, end); returns the stroke id it
        finished, if it did. Anything malformed or beyond the bounds is ignored."""
        kind, sid = message.get("type"), message.get("id")
        if not isinstance(sid, int) or isinstance(sid, bool):
            return None
        if kind == "begin":
            x, y = _coordinate(message.get("x")), _coordinate(message.get("y"))
            color = message.get("color")
            if x is None or y is None or sid in self.theirs or len(self.theirs) >= MAX_STROKES:
                return None
            if not isinstance(color, int) or not 0 <= color < len(COLORS):
                color = 0
            self.theirs[sid] = Stroke(color, x, y)
            self.order.append(("theirs", sid))
        elif kind == "point":
            stroke = self.theirs.get(sid)
            x, y = _coordinate(message.get("x")), _coordinate(message.get("y"))
            if stroke and not stroke.done and x is not None and y is not None and len(stroke.points) < MAX_POINTS:
                stroke.points.append((x, y))
        elif kind == "end":
            stroke = self.theirs.get(sid)
            if stroke and not stroke.done:
                stroke.done = True
                return sid
        return None

    def all(self):
        for side, sid in self.order:
            yield side, sid, (self.mine if side == "mine" else self.theirs)[sid]

    def finished(self, side):
        return sum(1 for s in (self.mine if side == "mine" else self.theirs).values() if s.done)
