"""Banner: the comfort message on an opaque card over the stage, Chinese drawn with a CJK font (the English
text, and a hint naming the font package, where none exists), faded out by its opacity."""

from __future__ import annotations

import logging
from typing import Callable

import cv2
import numpy as np

from emocare.fonts import CJK_FONT_PACKAGE, MIN_TEXT_PX, Fonts, Text, find_font, needs_cjk, wrap
from emocare.layout import unit
from emocare.paint import BANNER_BG, Rect, rounded

log = logging.getLogger(__name__)


class BannerLayer:
    """The comfort message on an opaque card: Chinese drawn with a CJK font, wrapped on at most two lines.

    When no CJK font exists, ``fallback`` (the English text) is drawn
    instead and a hint, once, names the font package to install.
    ``opacity`` below 1 fades the whole card (text and all) into the frame.
    Without ``rect`` the card spans the top of the image (a plain frame).
    """

    def __init__(self, find: Callable[[bool], str | None] = find_font, fonts: Fonts | None = None):
        self.fonts = fonts or Fonts(find)
        self.hinted = False

    def text_for(self, text: str, fallback: str | None) -> str:
        if needs_cjk(text) and self.fonts.path(True) is None:
            if not self.hinted:
                log.warning("no CJK font found: showing the English message; install %s", CJK_FONT_PACKAGE)
                self.hinted = True
            return fallback or text
        return text

    def lines(self, text: str, width: int, u: float) -> tuple[list[str], int]:
        """(lines, size in px) for ``text`` in a card ``width`` wide: two lines at most, smaller if it must."""
        px = max(MIN_TEXT_PX + 3, round(28 * u))
        while True:
            lines = wrap(self.fonts, text, px, width)
            if len(lines) <= 2 or px <= MIN_TEXT_PX:
                return lines[:2] if len(lines) <= 2 else [lines[0], " ".join(lines[1:])], px
            px -= 1

    def rect(self, text: str, within: Rect, u: float, at: str = "bottom") -> Rect:
        """Where the card goes inside ``within``: centred, near its ``at`` edge ("bottom" or "top")."""
        x0, y0, x1, y1 = within
        pad = max(10, round(16 * u))
        max_w = int((x1 - x0) * 0.88) - 2 * pad
        lines, px = self.lines(text, max_w, u)
        w = min(max_w, max(self.fonts.width(line, px) for line in lines)) + 2 * pad
        h = len(lines) * self.fonts.height(px) + 2 * pad - max(0, len(lines) - 1) * round(px * 0.1)
        bx = x0 + (x1 - x0 - w) // 2
        by = y1 - h - pad if at == "bottom" else y0 + pad
        return (bx, by, bx + w, by + h)

    def draw(self, image: np.ndarray, text: str, fallback: str | None = None, rect: Rect | None = None,
             opacity: float = 1.0, u: float | None = None) -> np.ndarray:
        if not text or opacity <= 0:
            return image
        text = self.text_for(text, fallback)
        H, W = image.shape[:2]
        u = unit(W, H) if u is None else u
        left = rect is None
        if left:  # a plain frame: a band across its top, the text at its left
            s = max(0.5, min(4.0, max(H, W) / 900.0))
            rect = (0, int(30 * s), W, int(30 * s) + int(60 * s) + 1)
        x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(W, rect[2]), min(H, rect[3])
        if x1 <= x0 or y1 <= y0:
            return image
        pad = max(10, round(16 * u))
        card = image[y0:y1, x0:x1].copy()
        under = card.copy()
        rounded(card, (0, 0, x1 - x0, y1 - y0), BANNER_BG, max(4, round(10 * u)))
        lines, px = self.lines(text, x1 - x0 - 2 * pad, u)
        lh = self.fonts.height(px) - round(px * 0.1)
        top = (y1 - y0 - len(lines) * lh) // 2
        items = [Text(pad if left else (x1 - x0 - self.fonts.width(line, px)) // 2, top + i * lh, line, px,
                      (255, 255, 255)) for i, line in enumerate(lines)]
        self.fonts.draw(card, items)
        if opacity < 1:
            card = cv2.addWeighted(card, opacity, under, 1 - opacity, 0)
        image[y0:y1, x0:x1] = card
        return image
