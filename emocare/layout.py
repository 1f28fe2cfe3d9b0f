"""Layout: the canvas's regions (header, the stage the frame is fitted into, the panel, the footer), the frame
fitted into its place, and the size a window first opens at."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emocare.paint import CANVAS_BG, Rect, fill

MAX_WINDOW = (1280, 760)  # the window's first size at most: a laptop screen less its task bar


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
