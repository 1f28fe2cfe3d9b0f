"""Cards: each face drawn on the canvas, keyed by its number and its mood's colour: the number on a ``Chip``, the
face's box on the stage (``FaceLayer``) and its card of scores in the side panel (``PanelLayer``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from emocare.faces import EMOTIONS, UNCERTAIN, Face
from emocare.fonts import MIN_TEXT_PX, Fonts, Text
from emocare.layout import Layout
from emocare.paint import COLORS, INK, PANEL_BG, QUIET_INK, TRACK_BG, Rect, fill, ink_on, inside, overlaps, rounded
from emocare.words import Words


def _place(candidates: Sequence[Rect], taken: Sequence[Rect], within: Rect) -> Rect | None:
    """The first candidate inside ``within`` that overlaps nothing taken."""
    for r in candidates:
        if inside(r, within) and not any(overlaps(r, t) for t in taken):
            return r
    return None


# ---------------------------------------------------------------- faces: boxes and their numbers
def face_numbers(faces: Sequence[Face]) -> list[str]:
    """What each face is called: its person number while tracked (the journal's id), else its place in the list
    (as in ``analyze --json`` and ``--details``); "?" for a face not yet confirmed beside tracked ones."""
    tracked = any(f.track_id is not None for f in faces)
    return [str(f.track_id) if f.track_id is not None else ("?" if tracked else str(i + 1)) for i, f in enumerate(faces)]


def mood_of(face: Face) -> tuple[str, float, np.ndarray]:
    """(mood, confidence, scores): the smoothed mood when there is one, else the frame's dominant emotion."""
    if face.mood is not None:
        return face.mood.label, face.mood.confidence, face.mood.scores
    return face.dominant, face.confidence, face.scores


def face_label(face: Face) -> tuple[str, str, float]:
    """(label text, mood, confidence), e.g. ``("1 sad 62%", "sad", 0.62)``."""
    mood, conf, _ = mood_of(face)
    prefix = f"{face.track_id} " if face.track_id is not None else ""
    return f"{prefix}{mood} {conf * 100:.0f}%", mood, conf


class Chip:
    """A face's number on a rounded patch of its mood's colour: on the face's box, on its card, in the header."""

    def __init__(self, fonts: Fonts):
        self.fonts = fonts

    def size(self, number: str, px: int) -> tuple[int, int]:
        h = self.fonts.height(px) + 2
        return max(h, self.fonts.width(number, px) + px // 2 + 4), h

    def draw(self, image: np.ndarray, x: int, y: int, number: str, color, px: int) -> tuple[Rect, Text]:
        w, h = self.size(number, px)
        r = (x, y, x + w, y + h)
        rounded(image, r, color, h // 4)
        tw = self.fonts.width(number, px)
        return r, Text(x + (w - tw) // 2, y + 1, number, px, ink_on(color))


class FaceLayer:
    """Each face's box in its mood's colour, with its number on a chip at the box's top-left corner.

    The chip goes above the box's top-left corner, else inside it, else
    below the box, else at its other corners: where it covers nothing in
    ``avoid`` (the banner, the help) nor another chip.
    The scores are not drawn here: the panel's card with the same number
    and colour holds them. ``drawn`` lists ``(name, rect)`` of what went where.
    """

    def __init__(self, fonts: Fonts | None = None, thickness: int | None = None):
        self.fonts = fonts or Fonts()
        self.thickness = thickness
        self.drawn: list[tuple[str, Rect]] = []

    def draw(self, canvas: np.ndarray, faces: Sequence[Face], lay: Layout, avoid: Sequence[Rect] = ()) -> list[Text]:
        """Boxes and chips into ``canvas``; returns the chips' text, to be drawn last (``Fonts.draw``)."""
        self.drawn = []
        t = self.thickness or max(2, round(2.5 * lay.u))
        px = max(MIN_TEXT_PX + 1, round(22 * lay.u))
        chip = Chip(self.fonts)
        taken = list(avoid)
        texts: list[Text] = []
        for face, number in zip(faces, face_numbers(faces)):
            mood, _, _ = mood_of(face)
            color = COLORS.get(mood, COLORS[UNCERTAIN])
            x0, y0, x1, y1 = lay.to_canvas(face.box)
            x0, y0 = max(lay.frame[0], x0), max(lay.frame[1], y0)
            x1, y1 = min(lay.frame[2], x1), min(lay.frame[3], y1)
            if x1 <= x0 or y1 <= y0:
                continue
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), color, t, cv2.LINE_AA)
            self.drawn.append((f"box:{number}", (x0, y0, x1, y1)))
            cw, ch = chip.size(number, px)
            cx = max(lay.stage[0], min(x0, lay.stage[2] - cw))
            rx = max(lay.stage[0], x1 - cw)  # the right-hand corners, when the left ones are taken
            spot = _place([(cx, y0 - ch, cx + cw, y0), (cx, y0, cx + cw, y0 + ch), (cx, y1, cx + cw, y1 + ch),
                           (rx, y0 - ch, rx + cw, y0), (rx, y0, rx + cw, y0 + ch), (cx, y1 - ch, cx + cw, y1),
                           (rx, y1 - ch, rx + cw, y1), (rx, y1, rx + cw, y1 + ch)], taken, lay.stage)
            if spot is None:
                continue
            _, text = chip.draw(canvas, spot[0], spot[1], number, color, px)
            texts.append(text)
            taken.append(spot)
            self.drawn.append((f"chip:{number}", spot))
        return texts


# ---------------------------------------------------------------- the panel: one card per face
@dataclass(frozen=True)
class CardStyle:
    title_px: int
    label_px: int
    row_h: int
    title_h: int
    pad: int
    gap: int

    @classmethod
    def at(cls, fonts: Fonts, u: float) -> "CardStyle":
        label_px = max(MIN_TEXT_PX, round(20 * u))
        title_px = max(MIN_TEXT_PX + 3, round(24 * u))
        return cls(title_px=title_px, label_px=label_px, row_h=fonts.height(label_px) + max(4, round(5 * u)),
                   title_h=fonts.height(title_px) + max(6, round(10 * u)), pad=max(10, round(14 * u)),
                   gap=max(8, round(12 * u)))

    def height(self, rows: int) -> int:
        return self.title_h + rows * self.row_h + (self.gap // 2 if rows else 0)


class PanelLayer:
    """A card per face: its number and colour (as on its box), its mood and confidence, and score bars.

    Cards shrink to fit: all seven emotions, else the three highest, else
    the title line only; what still does not fit is counted ("+3 more").
    ``columns`` > 1 lets a tall group (``analyze --annotate``) flow into
    more columns instead. ``drawn`` lists ``(name, rect)`` of each card
    and of each text line (``label`` entries), for tests and screenshots.
    """

    def __init__(self, fonts: Fonts | None = None, columns: int = 1, words: Words | None = None):
        self.fonts = fonts or Fonts()
        self.columns = columns
        self.words = words or Words()  # the language of the moods' and emotions' names (``words.STRINGS``)
        self.drawn: list[tuple[str, Rect]] = []

    def rows_that_fit(self, n: int, height: int, style: CardStyle, columns: int) -> int | None:
        for rows in (len(EMOTIONS), 3, 0):
            per_column = math.ceil(n / columns)
            if style.pad + per_column * (style.height(rows) + style.gap) <= height:
                return rows
        return None

    def draw(self, canvas: np.ndarray, faces: Sequence[Face], panel: Rect, u: float) -> list[Text]:
        fill(canvas, panel, PANEL_BG)
        self.drawn = []
        style = CardStyle.at(self.fonts, u)
        x0, y0, x1, y1 = panel
        texts: list[Text] = []
        if not faces:
            texts.append(Text(x0 + style.pad, y0 + style.pad, self.words("no_face"), style.label_px, QUIET_INK))
            return texts
        columns = max(1, self.columns)
        rows = self.rows_that_fit(len(faces), y1 - y0, style, columns)
        shown = list(zip(faces, face_numbers(faces)))
        if rows is None:  # not even title lines for all: as many as fit, then how many more
            rows = 0
            per_column = max(1, (y1 - y0 - style.pad - style.title_h) // (style.height(0) + style.gap))
            keep = per_column * columns
            hidden = len(shown) - keep
            shown = shown[:keep]
        else:
            per_column, hidden = math.ceil(len(shown) / columns), 0
        col_w = (x1 - x0) // columns
        chip = Chip(self.fonts)
        for k, (face, number) in enumerate(shown):
            col, row = divmod(k, per_column)
            cx = x0 + col * col_w + style.pad
            cy = y0 + style.pad + row * (style.height(rows) + style.gap)
            texts += self._card(canvas, face, number, (cx, cy, x0 + (col + 1) * col_w - style.pad, cy + style.height(rows)),
                                rows, style, chip)
        if hidden > 0:
            y = y0 + style.pad + per_column * (style.height(0) + style.gap)
            texts.append(Text(x0 + style.pad, y, self.words("more_faces", n=hidden), style.label_px, QUIET_INK))
        return texts

    def _card(self, canvas, face: Face, number: str, r: Rect, rows: int, style: CardStyle, chip: Chip) -> list[Text]:
        mood, conf, scores = mood_of(face)
        color = COLORS.get(mood, COLORS[UNCERTAIN])
        x0, y0, x1, _ = r
        self.drawn.append((f"card:{number}", r))
        cr, number_text = chip.draw(canvas, x0, y0, number, color, style.title_px)
        # a steady mood is held while another emotion briefly leads (hysteresis): its word, the bars say the rest;
        # a photo's (no mood) is its top emotion, with its share
        said = self.words.emotion(mood)
        title = said if face.mood is not None else f"{said} {conf * 100:.0f}%"
        ty = y0 + (cr[3] - cr[1] - self.fonts.height(style.title_px)) // 2
        texts = [number_text, Text(cr[2] + style.pad // 2, ty, title, style.title_px, INK)]
        self.drawn.append(("label", (cr[2] + style.pad // 2, ty, cr[2] + style.pad // 2 + self.fonts.width(title, style.title_px),
                                     ty + self.fonts.height(style.title_px))))
        order = range(len(EMOTIONS)) if rows == len(EMOTIONS) else list(np.argsort(-np.asarray(scores)))[:rows]
        names = [self.words.emotion(e) for e in EMOTIONS]
        name_w = max(self.fonts.width(n, style.label_px) for n in names) + style.pad // 2
        pct_w = self.fonts.width("100%", style.label_px) + 4
        bar_x0, bar_x1 = x0 + name_w, x1 - pct_w - style.pad // 2
        lh = self.fonts.height(style.label_px)
        for k, i in enumerate(order):
            emotion, name, p = EMOTIONS[int(i)], names[int(i)], float(scores[int(i)])
            ry = y0 + style.title_h + k * style.row_h
            texts.append(Text(x0, ry, name, style.label_px, QUIET_INK))
            self.drawn.append(("label", (x0, ry, x0 + self.fonts.width(name, style.label_px), ry + lh)))
            by0, by1 = ry + lh // 4, ry + lh - lh // 4
            if bar_x1 > bar_x0:
                rounded(canvas, (bar_x0, by0, bar_x1, by1), TRACK_BG, (by1 - by0) // 2)
                filled = bar_x0 + round((bar_x1 - bar_x0) * max(0.0, min(1.0, p)))
                if filled - bar_x0 >= 2:
                    rounded(canvas, (bar_x0, by0, filled, by1), COLORS[emotion], (by1 - by0) // 2)
            pct = f"{p * 100:.0f}%"
            texts.append(Text(x1 - self.fonts.width(pct, style.label_px), ry, pct, style.label_px, INK))
        return texts
