"""Fonts: the overlay's text, TrueType through Pillow (Chinese with a CJK font), never under ``MIN_TEXT_PX``.

``find_font`` looks the font files up (fontconfig first), ``Fonts`` measures and draws ``Text`` items (OpenCV's
built-in font stands in where no font file exists), ``wrap`` breaks text into lines no wider than asked.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from emocare.paint import INK

MIN_TEXT_PX = 19  # no text smaller than this, whatever the canvas size: even "sad" stands 14 px tall

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
