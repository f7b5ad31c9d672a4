"""A QR code drawn with cairo from python3-qrcode's module matrix (no image library needed)."""
import qrcode
from gi.repository import Gtk

from .widgets import name_for_screen_readers


class QRCodeView(Gtk.DrawingArea):
    """Shows `text` as a QR code, black on white with a quiet zone, scaled to whole pixels."""

    def __init__(self, size=200):
        super().__init__(content_width=size, content_height=size, halign=Gtk.Align.CENTER)
        self.matrix = []
        self.set_draw_func(self._draw)
        name_for_screen_readers(self, "QR code of my contact link")

    def set_text(self, text):
        if text:
            code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
            code.add_data(text)
            code.make(fit=True)
            self.matrix = code.get_matrix()
        else:
            self.matrix = []
        self.queue_draw()

    def _draw(self, _area, cr, width, height):
        if not self.matrix:
            return
        count = len(self.matrix)
        module = max(1, min(width, height) // count)
        side = module * count
        x0 = (width - side) // 2
        y0 = (height - side) // 2
        cr.set_source_rgb(1, 1, 1)
        cr.rectangle(x0, y0, side, side)
        cr.fill()
        cr.set_source_rgb(0, 0, 0)
        for y, line in enumerate(self.matrix):
            for x, dark in enumerate(line):
                if dark:
                    cr.rectangle(x0 + x * module, y0 + y * module, module, module)
        cr.fill()
