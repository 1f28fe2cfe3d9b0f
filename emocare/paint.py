"""Paint: the overlay's colours (BGR), the shapes drawn with them, and the rectangle tests its layout uses.

Each shape is drawn in place into a BGR image; a ``Rect`` is ``(x0, y0, x1, y1)``.
"""

from __future__ import annotations

import cv2
import numpy as np

from emocare.faces import UNCERTAIN

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
