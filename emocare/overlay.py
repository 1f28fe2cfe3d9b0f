"""Drawing, and only drawing: layers that take an image and data and return the image.

Style goes in the constructor, data in the call (supervision's annotators).
The same layers draw ``analyze --annotate`` files and the live window;
``window.py`` shows what these draw, nothing here calls ``imshow``.

The picture is a canvas of separate regions, so nothing is drawn over the
person: a quiet header (the person's mood), the frame scaled into the
*stage*, a side *panel* with one card per face (keyed to its face by the
face's number and colour), and a *footer* with the mood strip and its
legend. Over the stage only the face boxes with their number, the comfort
banner and the key help are drawn, and those three never cover one
another. All text is TrueType through Pillow (``Fonts``), at least 19 px.

Each part lives in a module named after it, re-exported here: ``paint``
(colours, shapes, rectangles), ``fonts`` (text, CJK included), ``layout``
(the regions, the window's size), ``cards`` (face boxes, chips, the
panel's cards), ``bands`` (header, mood strip, key help) and ``banner``
(the comfort card). This module draws ``analyze --annotate``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from emocare.bands import HeaderInfo, HeaderLayer, HelpLayer, MoodStripLayer  # noqa: F401  (re-exported)
from emocare.banner import BannerLayer  # noqa: F401
from emocare.cards import CardStyle, Chip, FaceLayer, PanelLayer, face_label, face_numbers, mood_of  # noqa: F401
from emocare.faces import Face, Faces
from emocare.fonts import CJK_FONT_PACKAGE, MIN_TEXT_PX, Fonts, Text, find_font, needs_cjk, wrap  # noqa: F401
from emocare.layout import MAX_WINDOW, Layout, fit_frame, panel_width, plan, unit, window_size  # noqa: F401
from emocare.paint import (BANNER_BG, CANVAS_BG, COLORS, HELP_BG, HELP_EDGE, INK, PANEL_BG, QUIET_INK,  # noqa: F401
                           TRACK_BG, Rect, fill, ink_on, inside, overlaps, rounded, shade)


class Annotator:
    """A photo with its faces (boxes and numbers) beside a panel of cards, one per face, in that number's order.

    The photo keeps its own pixels (boxes land where ``analyze --json``
    puts them); the panel is as tall as the photo and adds columns for a
    large group rather than drop anyone.
    """

    def __init__(self, fonts: Fonts | None = None):
        self.fonts = fonts or Fonts()
        self.faces = FaceLayer(self.fonts)
        self.layout: list[tuple[str, Rect]] = []

    def draw(self, image: np.ndarray, faces: Faces | Sequence[Face]) -> np.ndarray:
        faces = list(faces)
        h, w = image.shape[:2]
        u = max(0.75, min(4.0, max(h, 480) / 720.0))
        style = CardStyle.at(self.fonts, u)
        col_w = panel_width(u)
        columns = 1
        panel = PanelLayer(self.fonts)
        while faces and panel.rows_that_fit(len(faces), h, style, columns) in (None, 0) and columns < 4:
            columns += 1
        # a short photo with one or two faces still gets its cards: the canvas grows taller than the photo if needed
        height = max(h, style.pad + math.ceil(max(1, len(faces)) / columns) * (style.height(3 if len(faces) > 2 else 7) + style.gap))
        canvas = np.empty((height, w + col_w * columns, 3), np.uint8)
        canvas[:] = PANEL_BG
        canvas[:h, :w] = image
        lay = Layout(size=(canvas.shape[1], height), u=u, header=(0, 0, w, 0), stage=(0, 0, w, h), frame=(0, 0, w, h),
                     panel=(w, 0, canvas.shape[1], height), footer=(0, height, w, height), scale=1.0)
        texts = self.faces.draw(canvas, faces, lay)
        panel.columns = columns
        texts += panel.draw(canvas, faces, lay.panel, u)
        self.fonts.draw(canvas, texts)
        self.layout = [*self.faces.drawn, *panel.drawn]
        return canvas


def annotate(image: np.ndarray, faces: Faces | Sequence[Face]) -> np.ndarray:
    """The photo with every face numbered and boxed, beside a card of scores per face (``analyze --annotate``)."""
    return Annotator().draw(image, faces)
