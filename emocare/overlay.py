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
"""

from __future__ import annotations

import functools
import logging
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from emocare.faces import EMOTIONS, UNCERTAIN, Face, Faces

log = logging.getLogger(__name__)

# BGR
COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 60),
    "fear": (160, 60, 150),
    "happy": (40, 200, 250),
    "sad": (200, 120, 40),
    "surprise": (220, 200, 40),
    "neutral": (180, 180, 180),
    UNCERTAIN: (128, 128, 128),
}
INK = (238, 238, 238)  # text on the dark regions
QUIET_INK = (165, 165, 165)  # secondary text
CANVAS_BG = (26, 24, 22)  # header, footer, letterbox
PANEL_BG = (38, 35, 32)
TRACK_BG = (70, 66, 62)  # the empty part of a score bar
BANNER_BG = (112, 78, 40)  # a calm blue; opaque, so what is under it never shows through
HELP_BG = (12, 12, 12)  # the key help: darker than anything the banner holds
HELP_EDGE = (150, 150, 150)

MIN_TEXT_PX = 19  # no text smaller than this, whatever the canvas size: even "sad" stands 14 px tall
MAX_WINDOW = (1280, 760)  # the window's first size at most: a laptop screen less its task bar

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(a: Rect, b: Rect) -> bool:
    """``a`` lies within ``b``."""
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def shade(image: np.ndarray, x0: int, y0: int, x1: int, y1: int, color, alpha: float) -> None:
    """Blend a filled rectangle into ``image`` in place (only that region is touched)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = image[y0:y1, x0:x1]
    fill = np.empty_like(roi)
    fill[:] = color
    cv2.addWeighted(fill, alpha, roi, 1 - alpha, 0, dst=roi)


def fill(image: np.ndarray, r: Rect, color) -> None:
    cv2.rectangle(image, (r[0], r[1]), (r[2] - 1, r[3] - 1), color, -1)


def rounded(image: np.ndarray, r: Rect, color, radius: int) -> None:
    """A filled rectangle with rounded corners."""
    x0, y0, x1, y1 = r[0], r[1], r[2] - 1, r[3] - 1
    radius = max(0, min(radius, (x1 - x0) // 2, (y1 - y0) // 2))
    cv2.rectangle(image, (x0 + radius, y0), (x1 - radius, y1), color, -1)
    cv2.rectangle(image, (x0, y0 + radius), (x1, y1 - radius), color, -1)
    for cx, cy in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius), (x0 + radius, y1 - radius),
                   (x1 - radius, y1 - radius)):
        cv2.circle(image, (cx, cy), radius, color, -1, cv2.LINE_AA)


def ink_on(color) -> tuple[int, int, int]:
    """Dark or light text, whichever reads on ``color`` (BGR)."""
    b, g, r = color
    return (20, 20, 20) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (250, 250, 250)


# ---------------------------------------------------------------- fonts and text
CJK_FONT_PACKAGE = "fonts-wqy-microhei (Debian/Ubuntu) or fonts-noto-cjk"
_CJK_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_LATIN_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Helvetica.ttc",
    "C:/Windows/Fonts/segoeui.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
_NOT_PLAIN = ("bold", "oblique", "italic", "mono", "serif", "condensed", "light", "math", "black", "thin")


def _rank(path: str) -> tuple[int, int, str]:
    """Plain sans faces first (DejaVuSans.ttf before DejaVuSans-Bold.ttf), then the rest."""
    name = Path(path).name.lower()
    plain = not any(word in name for word in _NOT_PLAIN)
    sans = "sans" in name or "microhei" in name or "hei" in name
    return (0 if plain else 1, 0 if sans else 1, name)


@functools.lru_cache(maxsize=4)
def find_font(cjk: bool) -> str | None:
    """A plain font file that can draw Chinese (``cjk``) or Latin text, via fontconfig first (looked up once)."""
    if shutil.which("fc-list"):
        query = [":lang=zh", "file"] if cjk else [":lang=en", "file"]
        try:
            out = subprocess.run(["fc-list", *query], capture_output=True, text=True, timeout=5).stdout
            files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
            files = sorted((f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf"))), key=_rank)
            if files:
                return files[0]
        except (OSError, subprocess.SubprocessError):
            pass
    for candidate in _CJK_CANDIDATES if cjk else _LATIN_CANDIDATES + _CJK_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


def needs_cjk(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


@functools.lru_cache(maxsize=64)
def _truetype(path: str, px: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, px)


@dataclass(frozen=True)
class Text:
    """One piece of text: its top-left corner, the words, the size in pixels (the font's em), its colour (BGR)."""

    x: int
    y: int
    text: str
    px: int
    color: tuple[int, int, int] = INK


class Fonts:
    """TrueType text through Pillow; the font files are looked up once (``find`` is injectable for tests).

    Without any font file the text is drawn with OpenCV's built-in font, at
    the same height, so emocare still runs on a bare machine.
    """

    def __init__(self, find: Callable[[bool], str | None] = find_font):
        self._find = find
        self._paths: dict[bool, str | None] = {}

    def path(self, cjk: bool) -> str | None:
        if cjk not in self._paths:
            self._paths[cjk] = self._find(cjk)
        return self._paths[cjk]

    def _font(self, text: str, px: int):
        path = self.path(needs_cjk(text)) or self.path(False)
        return _truetype(path, max(1, int(px))) if path else None

    def width(self, text: str, px: int) -> int:
        font = self._font(text, px)
        if font is None:
            (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, px / 30.0, 1)
            return w
        return int(math.ceil(font.getlength(text)))

    def height(self, px: int) -> int:
        """A line's height at ``px``: ascent plus descent."""
        font = self._font("Ag", px)
        if font is None:
            return int(px * 1.2)
        ascent, descent = font.getmetrics()
        return ascent + descent

    def fit(self, text: str, px: int, width: int, smallest: int = MIN_TEXT_PX) -> int:
        """The largest size up to ``px`` (not below ``smallest``) at which ``text`` fits ``width``."""
        while px > smallest and self.width(text, px) > width:
            px -= 1
        return px

    def draw(self, image: np.ndarray, items: Sequence[Text]) -> None:
        """Draw ``items`` into ``image`` in place; only the region they cover goes through Pillow."""
        items = [t for t in items if t.text]
        if not items:
            return
        H, W = image.shape[:2]
        x0 = max(0, min(t.x for t in items))
        y0 = max(0, min(t.y for t in items))
        x1 = min(W, max(t.x + self.width(t.text, t.px) + 2 for t in items))
        y1 = min(H, max(t.y + self.height(t.px) + 2 for t in items))
        if x1 <= x0 or y1 <= y0:
            return
        if all(self._font(t.text, t.px) is None for t in items):
            for t in items:
                cv2.putText(image, t.text, (t.x, t.y + int(t.px * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, t.px / 30.0, t.color,
                            max(1, t.px // 16), cv2.LINE_AA)
            return
        from PIL import Image, ImageDraw

        region = image[y0:y1, x0:x1]
        pil = Image.fromarray(np.ascontiguousarray(region))  # BGR bytes as they are: the colours are BGR too
        draw = ImageDraw.Draw(pil)
        for t in items:
            font = self._font(t.text, t.px)
            draw.text((t.x - x0, t.y - y0), t.text, font=font, fill=tuple(int(c) for c in t.color))
        region[:] = np.asarray(pil)


def wrap(fonts: Fonts, text: str, px: int, width: int) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (at spaces; anywhere in Chinese)."""
    units = list(text) if needs_cjk(text) and " " not in text.strip() else text.split(" ")
    joiner = "" if needs_cjk(text) and " " not in text.strip() else " "
    lines: list[str] = []
    line = ""
    for unit in units:
        candidate = f"{line}{joiner}{unit}" if line else unit
        if line and fonts.width(candidate, px) > width:
            lines.append(line)
            line = unit
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


# ---------------------------------------------------------------- layout
def unit(width: int, height: int) -> float:
    """The canvas's scale: 1.0 at 720 px tall (and 960 wide), so sizes below read as pixels of a 720p window."""
    return max(0.75, min(3.0, min(width / 960.0, height / 720.0)))


@dataclass(frozen=True)
class Layout:
    """Where each region of the canvas goes, and how the frame maps into it."""

    size: tuple[int, int]  # canvas (width, height)
    u: float
    header: Rect
    stage: Rect  # the area the frame is fitted into (letterboxed)
    frame: Rect  # where the scaled frame lies
    panel: Rect
    footer: Rect
    scale: float  # frame pixels -> canvas pixels

    def to_canvas(self, box: tuple[int, int, int, int]) -> Rect:
        """A face box ``(x, y, w, h)`` in frame pixels as a canvas rectangle."""
        x, y, w, h = box
        s, fx, fy = self.scale, self.frame[0], self.frame[1]
        return (fx + round(x * s), fy + round(y * s), fx + round((x + w) * s), fy + round((y + h) * s))


def panel_width(u: float) -> int:
    return max(250, round(300 * u))


def plan(size: tuple[int, int], frame_size: tuple[int, int], *, header: bool = True, footer: bool = True,
         panel_w: int | None = None) -> Layout:
    """The regions of a ``size`` canvas for a frame of ``frame_size`` (both ``(width, height)``)."""
    W, H = size
    fw, fh = frame_size
    u = unit(W, H)
    hh = max(40, round(48 * u)) if header else 0
    fh_ = max(56, round(62 * u)) if footer else 0
    pw = panel_width(u) if panel_w is None else panel_w
    stage = (0, hh, max(1, W - pw), max(hh + 1, H - fh_))
    sw, sh = stage[2] - stage[0], stage[3] - stage[1]
    scale = min(sw / max(1, fw), sh / max(1, fh))
    w, h = round(fw * scale), round(fh * scale)
    x0, y0 = stage[0] + (sw - w) // 2, stage[1] + (sh - h) // 2
    return Layout(size=(W, H), u=u, header=(0, 0, W, hh), stage=stage, frame=(x0, y0, x0 + w, y0 + h),
                  panel=(stage[2], hh, W, stage[3]), footer=(0, stage[3], W, H), scale=scale)


def window_size(frame_size: tuple[int, int], limit: tuple[int, int] = MAX_WINDOW) -> tuple[int, int]:
    """The canvas a window first opens at: the frame as large as fits ``limit``, with header, panel and footer."""
    fw, fh = frame_size
    W, H = limit
    for _ in range(3):  # the bands' sizes depend on the canvas, which depends on them: settle in a few steps
        lay = plan((W, H), frame_size)
        W = lay.frame[2] - lay.frame[0] + (lay.panel[2] - lay.panel[0])
        H = lay.frame[3] - lay.frame[1] + (lay.header[3] - lay.header[1]) + (lay.footer[3] - lay.footer[1])
    return int(W), int(H)


def fit_frame(canvas: np.ndarray, image: np.ndarray, lay: Layout) -> None:
    """The frame scaled into its place on the canvas; the rest of the stage is background."""
    fill(canvas, lay.stage, CANVAS_BG)
    x0, y0, x1, y1 = lay.frame
    if x1 > x0 and y1 > y0:
        interp = cv2.INTER_AREA if lay.scale < 1 else cv2.INTER_LINEAR
        canvas[y0:y1, x0:x1] = cv2.resize(image, (x1 - x0, y1 - y0), interpolation=interp)


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

    def __init__(self, fonts: Fonts | None = None, columns: int = 1):
        self.fonts = fonts or Fonts()
        self.columns = columns
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
            texts.append(Text(x0 + style.pad, y0 + style.pad, "No face in view", style.label_px, QUIET_INK))
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
            texts.append(Text(x0 + style.pad, y, f"+{hidden} more", style.label_px, QUIET_INK))
        return texts

    def _card(self, canvas, face: Face, number: str, r: Rect, rows: int, style: CardStyle, chip: Chip) -> list[Text]:
        mood, conf, scores = mood_of(face)
        color = COLORS.get(mood, COLORS[UNCERTAIN])
        x0, y0, x1, _ = r
        self.drawn.append((f"card:{number}", r))
        cr, number_text = chip.draw(canvas, x0, y0, number, color, style.title_px)
        # a steady mood is held while another emotion briefly leads (hysteresis): its word, the bars say the rest;
        # a photo's (no mood) is its top emotion, with its share
        title = mood if face.mood is not None else f"{mood} {conf * 100:.0f}%"
        ty = y0 + (cr[3] - cr[1] - self.fonts.height(style.title_px)) // 2
        texts = [number_text, Text(cr[2] + style.pad // 2, ty, title, style.title_px, INK)]
        self.drawn.append(("label", (cr[2] + style.pad // 2, ty, cr[2] + style.pad // 2 + self.fonts.width(title, style.title_px),
                                     ty + self.fonts.height(style.title_px))))
        order = range(len(EMOTIONS)) if rows == len(EMOTIONS) else list(np.argsort(-np.asarray(scores)))[:rows]
        name_w = max(self.fonts.width(e, style.label_px) for e in EMOTIONS) + style.pad // 2
        pct_w = self.fonts.width("100%", style.label_px) + 4
        bar_x0, bar_x1 = x0 + name_w, x1 - pct_w - style.pad // 2
        lh = self.fonts.height(style.label_px)
        for k, i in enumerate(order):
            name, p = EMOTIONS[int(i)], float(scores[int(i)])
            ry = y0 + style.title_h + k * style.row_h
            texts.append(Text(x0, ry, name, style.label_px, QUIET_INK))
            self.drawn.append(("label", (x0, ry, x0 + self.fonts.width(name, style.label_px), ry + lh)))
            by0, by1 = ry + lh // 4, ry + lh - lh // 4
            if bar_x1 > bar_x0:
                rounded(canvas, (bar_x0, by0, bar_x1, by1), TRACK_BG, (by1 - by0) // 2)
                filled = bar_x0 + round((bar_x1 - bar_x0) * max(0.0, min(1.0, p)))
                if filled - bar_x0 >= 2:
                    rounded(canvas, (bar_x0, by0, filled, by1), COLORS[name], (by1 - by0) // 2)
            pct = f"{p * 100:.0f}%"
            texts.append(Text(x1 - self.fonts.width(pct, style.label_px), ry, pct, style.label_px, INK))
        return texts


# ---------------------------------------------------------------- header, strip, help
@dataclass(frozen=True)
class HeaderInfo:
    """What the header says: the person care follows (their number and mood), a status, and the rates (``--stats``)."""

    person: str | None = None  # the number of the face the header speaks of
    mood: str | None = None  # None: nobody in view
    for_s: float | None = None  # how long that mood has lasted
    status: str = ""  # "paused", "muted", "reconnecting ..."
    stats: str = ""  # "display 24.0 fps · analysis 23.9 fps", only with --stats


class HeaderLayer:
    """A quiet line: the person's mood (chip, word, how long), and at the right the status and, asked for, the rates."""

    def __init__(self, fonts: Fonts | None = None):
        self.fonts = fonts or Fonts()

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
            texts.append(Text(x, ty, "No one in view yet", px, QUIET_INK))
        else:
            if info.person is not None:
                r, t = Chip(self.fonts).draw(canvas, x, ty - 1, info.person, COLORS.get(info.mood, COLORS[UNCERTAIN]), px)
                texts.append(t)
                x = r[2] + pad // 2
            words = "not sure yet" if info.mood == UNCERTAIN else info.mood
            if info.for_s is not None and info.mood != UNCERTAIN and info.for_s >= 1:
                words += f" for {_duration(info.for_s)}"
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


def _duration(s: float) -> str:
    s = int(s)
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60:02d} min"


class MoodStripLayer:
    """The person's mood over the last ``span_s`` seconds, along the bottom, with a legend of the moods in it."""

    def __init__(self, span_s: float = 60.0, fonts: Fonts | None = None):
        self.span_s = span_s
        self.fonts = fonts or Fonts()
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
        caption = f"Mood, last {self.span_s:.0f} s"
        texts = [Text(x0 + pad, ty, caption, px, QUIET_INK)]
        x = x0 + pad + self.fonts.width(caption, px) + pad * 2
        order = [m for m in (*EMOTIONS, UNCERTAIN) if m in shown]
        self.legend = []
        sq = max(10, lh // 2)
        for mood in order:
            w = sq + 6 + self.fonts.width(mood, px)
            if x + w > x1 - pad:
                break
            sy = ty + (lh - sq) // 2
            rounded(canvas, (x, sy, x + sq, sy + sq), COLORS[mood], 2)
            texts.append(Text(x + sq + 6, ty, mood, px, INK))
            self.legend.append(mood)
            x += w + pad
        if not order:
            texts.append(Text(x, ty, "none yet", px, QUIET_INK))
        return texts


class HelpLayer:
    """The keys, from ``window.KEYS`` (one table), in an opaque box with a thin edge."""

    def __init__(self, fonts: Fonts | None = None):
        self.fonts = fonts or Fonts()

    def size(self, u: float) -> tuple[int, int]:
        from emocare.window import KEYS

        px = max(MIN_TEXT_PX, round(19 * u))
        pad = max(10, round(14 * u))
        key_w = max(self.fonts.width(k.label, px) for k in KEYS) + pad
        does_w = max(self.fonts.width(k.does, px) for k in KEYS)
        row = self.fonts.height(px) + max(4, round(6 * u))
        return key_w + does_w + 2 * pad, row * len(KEYS) + 2 * pad

    def draw(self, canvas: np.ndarray, rect: Rect, u: float) -> list[Text]:
        from emocare.window import KEYS

        px = max(MIN_TEXT_PX, round(19 * u))
        pad = max(10, round(14 * u))
        fill(canvas, rect, HELP_EDGE)
        fill(canvas, (rect[0] + 2, rect[1] + 2, rect[2] - 2, rect[3] - 2), HELP_BG)
        key_w = max(self.fonts.width(k.label, px) for k in KEYS) + pad
        row = self.fonts.height(px) + max(4, round(6 * u))
        texts = []
        for i, key in enumerate(KEYS):  # two columns: the key, what it does
            y = rect[1] + pad + i * row
            texts.append(Text(rect[0] + pad, y, key.label, px, (120, 210, 250)))
            texts.append(Text(rect[0] + pad + key_w, y, key.does, px, INK))
        return texts


# ---------------------------------------------------------------- the comfort banner (CJK capable)
class BannerLayer:
    """The comfort message on an opaque card: Chinese drawn with a CJK font, wrapped on at most two lines.

    When no CJK font exists, ``fallback`` (the English text) is drawn
    instead and a hint, once, names the font package to install.
    ``opacity`` below 1 fades the whole card (text and all) into the frame.
    Without ``rect`` the card spans the top of the image (a plain frame).
    """

    def __init__(self, find: Callable[[bool], str | None] = find_font, fonts: Fonts | None = None):
        self.fonts = fonts or Fonts(find)
        self._hinted = False

    def text_for(self, text: str, fallback: str | None) -> str:
        if needs_cjk(text) and self.fonts.path(True) is None:
            if not self._hinted:
                log.warning("no CJK font found: showing the English message; install %s", CJK_FONT_PACKAGE)
                self._hinted = True
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


# ---------------------------------------------------------------- analyze --annotate
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
