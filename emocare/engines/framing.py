"""Framing: the square a detected face is cut to before an emotion model reads it.

Every emotion model here learnt from FER2013's crops, and a model reads a face
best when it is cut the way its training faces were. FER2013 framed its faces
with more forehead than BlazeFace's box: ``tools/fit_framing.py`` places
FER2013 *training* crops in frames as the sessions place them, runs the
detector, and measures where the crop itself was relative to the detector's
box (the median, in the face's levelled frame and in units of the box's
side). ``emocare/models/framing.json`` holds the three numbers and the
command that measured them.

Only the box is used, not the keypoints: the box sits on a face the same way
in those frames and in real photos (its side is 2.2 eye-to-mouth distances in
both), while the ear keypoints of a pasted crop feel the crop's edge, so a
fit on them framed real faces far too tight. A tilted head gets the same
square, turned with it; ``level`` cuts it upright when the eye line is
``LEVEL_MIN_DEG`` or more off horizontal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emocare.engines.crops import cut

FRAMING_PATH = Path(__file__).resolve().parent.parent / "models" / "framing.json"
LEVEL_MIN_DEG = 5.0  # a face whose eye line is tilted this much or more is levelled before it is classified
TARGETS = ("centre_x", "centre_y", "side")  # in the levelled frame, relative to the box's centre, in box sides


def eye_roll(keypoints: np.ndarray) -> float:
    """How far the eye line is turned from horizontal, in degrees (positive: the eye on the image's right is lower),
    from BlazeFace's keypoints (the eye on the image's left first)."""
    (lx, ly), (rx, ry) = keypoints[0], keypoints[1]
    return float(np.degrees(np.arctan2(ry - ly, rx - lx)))


def _turn(roll: float, centre: tuple[float, float]) -> np.ndarray:
    """The 2x3 affine map that turns an image by ``roll`` degrees about ``centre`` (cv2's convention): a head
    tilted by ``roll`` comes out upright."""
    return cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(roll), 1.0)


def _centre_side(box: tuple[int, int, int, int]) -> tuple[tuple[float, float], float]:
    """A detector box's centre and side (its longer edge): the frame the framing is measured in."""
    x, y, w, h = box
    return (x + w / 2.0, y + h / 2.0), float(max(w, h, 1))


def targets(box: tuple[int, int, int, int], keypoints: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """Where ``square`` (centre x, centre y, side, in image pixels) sits relative to the detector's ``box`` of a
    face with ``keypoints``: (dx, dy, scale) as ``Framing`` holds them (``tools/fit_framing.py`` measures these)."""
    centre, side = _centre_side(box)
    m = _turn(eye_roll(keypoints), centre)
    cx, cy = np.array([square[0], square[1], 1.0]) @ m.T
    return np.array([(cx - centre[0]) / side, (cy - centre[1]) / side, square[2] / side])


@dataclass(frozen=True)
class Framing:
    """Where the crop sits relative to the detector's box: its centre ``dx``, ``dy`` box sides from the box's
    centre (in the face's levelled frame: ``dy`` < 0 is towards the forehead), its side ``scale`` box sides."""

    dx: float
    dy: float
    scale: float

    @classmethod
    def read(cls, path: Path | None = None) -> "Framing":
        from emocare.errors import ModelMissing

        path = path or FRAMING_PATH
        try:
            data = json.loads(Path(path).read_text())
            dx, dy, scale = (float(data[k]) for k in TARGETS)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelMissing(f"{path}: emocare's face framing is missing or unreadable ({exc}); reinstall emocare") from None
        if not (abs(dx) < 0.5 and abs(dy) < 0.5 and 0.5 < scale < 3.0):
            raise ModelMissing(f"{path}: a framing of centre ({dx}, {dy}) and side {scale} box sides is not a face's")
        return cls(dx, dy, scale)

    def square(self, box: tuple[int, int, int, int], keypoints: np.ndarray) -> tuple[tuple[int, int, int, int], float]:
        """The crop for the face at ``box`` whose eyes are ``keypoints[:2]``: a square box (x, y, side, side) in
        image pixels, and the head's tilt (degrees) to level it by."""
        centre, side = _centre_side(box)
        roll = eye_roll(keypoints)
        back = _turn(-roll, centre)  # from the levelled frame back to the image's
        cx, cy = np.array([centre[0] + self.dx * side, centre[1] + self.dy * side, 1.0]) @ back.T
        size = max(2.0, self.scale * side)
        return (int(round(cx - size / 2)), int(round(cy - size / 2)), int(round(size)), int(round(size))), roll


def level(gray: np.ndarray, box: tuple[int, int, int, int], roll: float) -> np.ndarray:
    """The pixels of ``box`` turned by ``roll`` degrees about its centre, so that a head tilted by ``roll`` is upright;
    the same as ``cut`` when ``roll`` is under ``LEVEL_MIN_DEG``."""
    if abs(roll) < LEVEL_MIN_DEG:
        return cut(gray, box)
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0
    m = _turn(roll, (cx, cy))
    m[0, 2] += w / 2.0 - cx
    m[1, 2] += h / 2.0 - cy
    return cv2.warpAffine(gray, m, (int(w), int(h)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
