"""Bands: the header line (the person's mood, the status, the rates), the footer's mood strip with its legend,
and the key help box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from emocare.cards import Chip
from emocare.faces import EMOTIONS, UNCERTAIN
from emocare.fonts import MIN_TEXT_PX, Fonts, Text
from emocare.paint import CANVAS_BG, COLORS, HELP_BG, HELP_EDGE, INK, QUIET_INK, TRACK_BG, Rect, fill, rounded
from emocare.words import Words


@dataclass(frozen=True)
class HeaderInfo:
    """What the header says: the person care follows (their number and mood), a status, and the rates (``--stats``)."""

    person: str | None = None  # the number of the face the header speaks of
    mood: str | None = None  # None: nobody in view
    for_s: float | None = None  # how long that mood has lasted
    status: str = ""  # "paused", "muted", "reconnecting ...", in the window's language
    stats: str = ""  # "display 24.0 fps · analysis 23.9 fps", only with --stats, in the window's language


class HeaderLayer:
    """A quiet line: the person's mood (chip, word, how long), and at the right the status and, asked for, the rates.

    The words are ``words``' language (``words.STRINGS``); the status and the rates come already said in it.
    """

    def __init__(self, fonts: Fonts | None = None, words: Words | None = None):
        self.fonts = fonts or Fonts()
        self.words = words or Words()

    def draw(self, canvas: np.ndarray, rect: Rect, info: HeaderInfo, u: float) -> list[Text]:
        fill(canvas, rect, CANVAS_BG)
        x0, y0, x1, y1 = rect
        if y1 <= y0:
            return []
        px = max(MIN_TEXT_PX + 1, round(22 * u))
        pad = max(10, round(16 * u))
        ty = y0 + (y1 - y0 - self.fonts.height(px)) // 2
        texts: list[Text] = []
        x = x0 + pad
        if info.mood is None:
            texts.append(Text(x, ty, self.words("no_one_yet"), px, QUIET_INK))
        else:
            if info.person is not None:
                r, t = Chip(self.fonts).draw(canvas, x, ty - 1, info.person, COLORS.get(info.mood, COLORS[UNCERTAIN]), px)
                texts.append(t)
                x = r[2] + pad // 2
            words = self.words("not_sure_yet") if info.mood == UNCERTAIN else self.words.emotion(info.mood)
            if info.for_s is not None and info.mood != UNCERTAIN and info.for_s >= 1:
                words = self.words("mood_for", mood=words, duration=self.words.duration(info.for_s))
            texts.append(Text(x, ty, words, px, INK))
        right = x1 - pad
        for text, color, small in ((info.stats, QUIET_INK, True), (info.status, (20, 20, 20), False)):
            if not text:
                continue
            size = max(MIN_TEXT_PX, px - 2) if small else px
            w = self.fonts.width(text, size)
            sy = y0 + (y1 - y0 - self.fonts.height(size)) // 2
            if not small:  # the status on an amber pill: it is why the picture is not moving, or is silent
                rounded(canvas, (right - w - pad // 2, sy - 2, right + pad // 2, sy + self.fonts.height(size) + 2),
                        (60, 190, 250), (self.fonts.height(size) + 4) // 3)
            texts.append(Text(right - w, sy, text, size, color))
            right -= w + pad * 2
        return texts


class MoodStripLayer:
    """The person's mood over the last ``span_s`` seconds, along the bottom, with a legend of the moods in it."""

    def __init__(self, span_s: float = 60.0, fonts: Fonts | None = None, words: Words | None = None):
        self.span_s = span_s
        self.fonts = fonts or Fonts()
        self.words = words or Words()
        self.legend: list[str] = []  # the moods the last draw named, in order

    def draw(self, canvas: np.ndarray, rect: Rect, history: Sequence[tuple[float, str]], now: float, u: float) -> list[Text]:
        fill(canvas, rect, CANVAS_BG)
        x0, y0, x1, y1 = rect
        if y1 <= y0:
            return []
        pad = max(10, round(16 * u))
        px = max(MIN_TEXT_PX, round(18 * u))
        lh = self.fonts.height(px)
        strip = (x0 + pad, y1 - pad // 2 - max(8, round(12 * u)), x1 - pad, y1 - pad // 2)
        rounded(canvas, strip, TRACK_BG, 3)
        start = now - self.span_s
        pts = [(t, m) for t, m in history if t >= start - 5 * 60]
        sw = strip[2] - strip[0]
        shown: list[str] = []
        for i, (t, mood) in enumerate(pts):
            t_end = pts[i + 1][0] if i + 1 < len(pts) else now
            a = strip[0] + int((max(t, start) - start) / self.span_s * sw)
            b = strip[0] + int((min(t_end, now) - start) / self.span_s * sw)
            if b > a:
                fill(canvas, (a, strip[1], b, strip[3]), COLORS.get(mood, COLORS[UNCERTAIN]))
                if mood not in shown:
                    shown.append(mood)
        ty = strip[1] - lh - max(2, round(4 * u))
        caption = self.words("strip_caption", span=self.span_s)
        texts = [Text(x0 + pad, ty, caption, px, QUIET_INK)]
        x = x0 + pad + self.fonts.width(caption, px) + pad * 2
        order = [m for m in (*EMOTIONS, UNCERTAIN) if m in shown]
        self.legend = []
        sq = max(10, lh // 2)
        for mood in order:
            name = self.words.emotion(mood)
            w = sq + 6 + self.fonts.width(name, px)
            if x + w > x1 - pad:
                break
            sy = ty + (lh - sq) // 2
            rounded(canvas, (x, sy, x + sq, sy + sq), COLORS[mood], 2)
            texts.append(Text(x + sq + 6, ty, name, px, INK))
            self.legend.append(mood)
            x += w + pad
        if not order:
            texts.append(Text(x, ty, self.words("strip_none"), px, QUIET_INK))
        return texts


class HelpLayer:
    """The keys, from ``window.KEYS`` (one table), named in ``words``' language, in an opaque box with a thin edge."""

    def __init__(self, fonts: Fonts | None = None, words: Words | None = None):
        self.fonts = fonts or Fonts()
        self.words = words or Words()

    def size(self, u: float) -> tuple[int, int]:
        from emocare.window import KEYS

        px = max(MIN_TEXT_PX, round(19 * u))
        pad = max(10, round(14 * u))
        key_w = max(self.fonts.width(self.words.key_label(k), px) for k in KEYS) + pad
        does_w = max(self.fonts.width(self.words.key_does(k), px) for k in KEYS)
        row = self.fonts.height(px) + max(4, round(6 * u))
        return key_w + does_w + 2 * pad, row * len(KEYS) + 2 * pad

    def draw(self, canvas: np.ndarray, rect: Rect, u: float) -> list[Text]:
        from emocare.window import KEYS

        px = max(MIN_TEXT_PX, round(19 * u))
        pad = max(10, round(14 * u))
        fill(canvas, rect, HELP_EDGE)
        fill(canvas, (rect[0] + 2, rect[1] + 2, rect[2] - 2, rect[3] - 2), HELP_BG)
        key_w = max(self.fonts.width(self.words.key_label(k), px) for k in KEYS) + pad
        row = self.fonts.height(px) + max(4, round(6 * u))
        texts = []
        for i, key in enumerate(KEYS):  # two columns: the key, what it does
            y = rect[1] + pad + i * row
            texts.append(Text(rect[0] + pad, y, self.words.key_label(key), px, (120, 210, 250)))
            texts.append(Text(rect[0] + pad + key_w, y, self.words.key_does(key), px, INK))
        return texts
