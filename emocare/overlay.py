"""Drawing, and only drawing: layers that take an image and data and return the image.

Style goes in the constructor, data in the call (supervision's annotators).
The same layers draw ``analyze --annotate`` files and the live window.
``window.py`` shows what these draw; nothing here calls ``imshow``.
"""

from __future__ import annotations

import logging
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
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _scale(image: np.ndarray) -> float:
    h, w = image.shape[:2]
    return max(0.5, min(4.0, max(h, w) / 900.0))


def _text(image, text, org, scale, color, thickness=1, bg=None) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = int(org[0]), int(org[1])
    if bg is not None:
        cv2.rectangle(image, (x - 2, y - th - 3), (x + tw + 2, y + base + 1), bg, -1)
    cv2.putText(image, text, (x, y), FONT, scale, color, thickness, cv2.LINE_AA)


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


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def bands(image: np.ndarray, banner: bool = False) -> dict[str, Rect]:
    """Where the fixed layers go: header (top), care banner (under it), mood strip with its caption (bottom)."""
    s = _scale(image)
    H, W = image.shape[:2]
    out = {"header": (0, 0, W, int(26 * s) + 1)}
    if banner:
        y0 = int(30 * s)
        out["banner"] = (0, y0, W, y0 + int(60 * s) + 1)
    out["strip"] = (0, H - int(46 * s), W, H)  # the strip, its caption and the status tag above it
    return out


def face_label(face: Face) -> tuple[str, str, float]:
    """(label text, mood, confidence): the smoothed mood when there is one, else the raw dominant."""
    if face.mood is not None:
        mood, conf = face.mood.label, face.mood.confidence
    else:
        mood, conf = face.dominant, face.confidence
    prefix = f"#{face.track_id} " if face.track_id is not None else ""
    return f"{prefix}{mood} {conf * 100:.0f}%", mood, conf


def _place(candidates: Sequence[Rect], taken: Sequence[Rect], w_img: int, h_img: int) -> Rect | None:
    """The first candidate inside the image that overlaps nothing taken."""
    for r in candidates:
        if r[0] >= 0 and r[1] >= 0 and r[2] <= w_img and r[3] <= h_img and not any(overlaps(r, t) for t in taken):
            return r
    return None


class FaceLayer:
    """Per face: box, label (id, mood, confidence) and the 7 score bars.

    ``draw(..., avoid=rects)``: the label and the bars are placed where they
    hide none of ``avoid`` (header, banner, mood strip) nor each other: the
    label above the box, else below it, else inside its top; the bars under
    the label/box, else above, else beside the box; bars that fit nowhere are
    left out rather than drawn over something. ``drawn`` lists what went where.
    """

    def __init__(self, thickness: int | None = None, bars: bool = True):
        self.thickness = thickness
        self.bars = bars
        self.drawn: list[tuple[str, Rect]] = []

    def draw(self, image: np.ndarray, faces: Faces | Sequence[Face], avoid: Sequence[Rect] = ()) -> np.ndarray:
        s = _scale(image)
        t = self.thickness or max(2, round(2 * s))
        h_img, w_img = image.shape[:2]
        self.drawn = []
        taken = list(avoid)
        for face in faces:
            x, y, w, h = face.box
            label, mood, _ = face_label(face)
            color = COLORS.get(mood, COLORS[UNCERTAIN])
            cv2.rectangle(image, (x, y), (x + w, y + h), color, t)
            fs = 0.55 * s
            th = max(1, round(s))
            (tw, tth), base = cv2.getTextSize(label, FONT, fs, th)
            lw, lh = tw + 4, tth + base + 4
            lx = max(0, min(x, w_img - lw))
            spot = _place([(lx, y - 4 - lh, lx + lw, y - 4), (lx, y + h + 4, lx + lw, y + h + 4 + lh),
                           (lx + t, y + t, lx + t + lw, y + t + lh)], taken, w_img, h_img) \
                or (lx + t, y + t, lx + t + lw, y + t + lh)
            _text(image, label, (spot[0] + 2, spot[3] - base - 2), fs, (0, 0, 0), th, bg=color)
            taken.append(spot)
            self.drawn.append(("label", spot))
            if self.bars:
                panel = self._bars(image, face, (x, y, x + w, y + h), spot, s, w_img, h_img, taken)
                if panel is not None:
                    taken.append(panel)
                    self.drawn.append(("bars", panel))
        return image

    def _bars(self, image, face, box: Rect, label: Rect, s, w_img, h_img, taken) -> Rect | None:
        """The 7 score bars in a panel placed where it hides nothing (see the class)."""
        scores = face.mood.scores if face.mood is not None else face.scores
        row = max(8, int(11 * s))
        fs = 0.32 * s
        label_w = int(44 * s)
        x0, y0, x1, y1 = box
        total_w = max(int(120 * s), min(x1 - x0, int(200 * s)))
        bar_w = total_w - label_w - 4
        panel_h = row * len(EMOTIONS) + 4
        bx = max(0, min(x0, w_img - total_w))
        below = max(y1, label[3]) + 4
        above = min(y0, label[1]) - 4 - panel_h
        candidates = [(bx, below, bx + total_w + 1, below + panel_h + 1), (bx, above, bx + total_w + 1, above + panel_h + 1)]
        for top in (y0, max(0, y1 - panel_h)):
            candidates += [(x1 + 6, top, x1 + 6 + total_w + 1, top + panel_h + 1),
                           (x0 - 6 - total_w - 1, top, x0 - 6, top + panel_h + 1)]
        panel = _place(candidates, taken, w_img, h_img)
        if panel is None:
            return None
        bx, by = panel[0], panel[1]
        shade(image, bx, by, bx + total_w + 1, by + panel_h + 1, (30, 30, 30), 0.6)
        for i, (name, p) in enumerate(zip(EMOTIONS, scores)):
            ry = by + 2 + i * row
            _text(image, name[:8], (bx + 2, ry + row - 2), fs, (235, 235, 235), 1)
            x0 = bx + label_w
            cv2.rectangle(image, (x0, ry + 2), (x0 + bar_w, ry + row - 2), (70, 70, 70), -1)
            cv2.rectangle(image, (x0, ry + 2), (x0 + int(bar_w * float(p)), ry + row - 2), COLORS[name], -1)
        return panel


@dataclass(frozen=True)
class HeaderInfo:
    display_fps: float
    analysis_fps: float
    engine: str
    source: str
    status: str = ""  # e.g. "reconnecting", "paused", "muted"


class HeaderLayer:
    def draw(self, image: np.ndarray, info: HeaderInfo) -> np.ndarray:
        s = _scale(image)
        h = int(26 * s)
        shade(image, 0, 0, image.shape[1], h + 1, (20, 20, 20), 0.6)
        source = info.source if len(info.source) <= 24 else "..." + info.source.replace("\\", "/").rsplit("/", 1)[-1][-21:]
        text = f"emocare | {info.engine} | {source} | display {info.display_fps:4.1f} fps | analysis {info.analysis_fps:4.1f} fps"
        _text(image, text, (8, h - int(8 * s)), 0.45 * s, (240, 240, 240), 1)
        if info.status:  # bottom right, above the mood strip: the top is the care banner's
            (tw, _), _ = cv2.getTextSize(info.status, FONT, 0.5 * s, 1)
            _text(image, info.status, (image.shape[1] - tw - 10, image.shape[0] - int(26 * s)), 0.5 * s, (0, 0, 0), 1,
                  bg=(60, 200, 255))
        return image


class MoodStripLayer:
    """The primary person's mood over the last ``span_s`` seconds, along the bottom."""

    def __init__(self, span_s: float = 60.0):
        self.span_s = span_s

    def draw(self, image: np.ndarray, history: Sequence[tuple[float, str]], now: float) -> np.ndarray:
        s = _scale(image)
        H, W = image.shape[:2]
        sh = int(14 * s)
        y0 = H - sh
        cv2.rectangle(image, (0, y0), (W, H), (40, 40, 40), -1)
        start = now - self.span_s
        pts = [(t, m) for t, m in history if t >= start - 5]
        for i, (t, mood) in enumerate(pts):
            t_end = pts[i + 1][0] if i + 1 < len(pts) else now
            x0 = int((max(t, start) - start) / self.span_s * W)
            x1 = int((min(t_end, now) - start) / self.span_s * W)
            if x1 > x0:
                cv2.rectangle(image, (x0, y0), (x1, H), COLORS.get(mood, COLORS[UNCERTAIN]), -1)
        _text(image, f"mood, last {self.span_s:.0f} s", (6, y0 - 4), 0.4 * s, (240, 240, 240), 1, bg=(40, 40, 40))
        return image




class HelpLayer:
    """The key help: its lines come from ``window.KEYS`` (one table)."""

    def draw(self, image: np.ndarray) -> np.ndarray:
        from emocare.window import KEYS

        s = _scale(image)
        row = int(22 * s)
        w, h = int(260 * s), row * (len(KEYS) + 1)
        x0, y0 = int(20 * s), int(40 * s)
        shade(image, x0, y0, x0 + w + 1, y0 + h + 1, (0, 0, 0), 0.7)
        for i, key in enumerate(KEYS):  # two columns: the key, what it does
            _text(image, key.label, (x0 + 10, y0 + row * (i + 1)), 0.5 * s, (255, 255, 255), 1)
            _text(image, key.does, (x0 + int(90 * s), y0 + row * (i + 1)), 0.5 * s, (255, 255, 255), 1)
        return image


# ---------------------------------------------------------------- banner (CJK capable)
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
)


def find_font(cjk: bool) -> str | None:
    """A font file that can draw Chinese (``cjk``) or Latin text, via fontconfig first."""
    if shutil.which("fc-list"):
        query = [":lang=zh", "file"] if cjk else [":lang=en", "file"]
        try:
            out = subprocess.run(["fc-list", *query], capture_output=True, text=True, timeout=5).stdout
            files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
            files = [f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf"))]
            if files:
                preferred = [f for f in files if "microhei" in f.lower() or "sans" in f.lower()]
                return (preferred or files)[0]
        except (OSError, subprocess.SubprocessError):
            pass
    for candidate in _CJK_CANDIDATES if cjk else _LATIN_CANDIDATES + _CJK_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


def needs_cjk(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


class BannerLayer:
    """A message banner across the top of the frame; Chinese drawn with Pillow and a CJK font.

    When no CJK font exists, ``fallback`` (the English text) is drawn instead
    and a hint, once per banner, names the font package to install. Fonts are
    looked up once per banner (``find`` is injectable for tests).
    """

    def __init__(self, find: Callable[[bool], str | None] = find_font):
        self._find = find
        self._fonts: dict[bool, str | None] = {}
        self._hinted = False

    def font(self, cjk: bool) -> str | None:
        if cjk not in self._fonts:
            self._fonts[cjk] = self._find(cjk)
        return self._fonts[cjk]

    def draw(self, image: np.ndarray, text: str, fallback: str | None = None,
             color: tuple[int, int, int] = (90, 60, 30)) -> np.ndarray:
        if not text:
            return image
        s = _scale(image)
        cjk = needs_cjk(text)
        font_path = self.font(cjk)
        if cjk and font_path is None:
            if not self._hinted:
                log.warning("no CJK font found: showing the English message; install %s", CJK_FONT_PACKAGE)
                self._hinted = True
            text, cjk = (fallback or text), False
            font_path = self.font(False)
        H, W = image.shape[:2]
        bh = int(60 * s)
        y0 = int(30 * s)
        shade(image, 0, y0, W, y0 + bh + 1, color, 0.8)
        if font_path is None:
            _text(image, text, (12, y0 + int(32 * s)), 0.7 * s, (255, 255, 255), max(1, round(s)))
            return image
        from PIL import Image, ImageDraw, ImageFont

        size = int(32 * s)
        font = ImageFont.truetype(font_path, size)
        region = image[y0:y0 + bh]
        pil = Image.fromarray(region[:, :, ::-1].copy())
        draw = ImageDraw.Draw(pil)
        while draw.textlength(text, font=font) > W - 24 and size > 10:
            size -= 2
            font = ImageFont.truetype(font_path, size)
        draw.text((12, (bh - size) // 2 - 2), text, font=font, fill=(255, 255, 255))
        image[y0:y0 + bh] = np.asarray(pil)[:, :, ::-1]
        return image


def annotate(image: np.ndarray, faces: Faces | Sequence[Face]) -> np.ndarray:
    """A copy of ``image`` with every face drawn (what ``analyze --annotate`` writes)."""
    return FaceLayer().draw(image.copy(), faces)
