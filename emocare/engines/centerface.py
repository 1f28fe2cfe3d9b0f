"""CenterFace as the third face check, in video: another opinion on the boxes one look is not sure of.

The landmark model and MTCNN's ONet (``onet.py``) judge a box on one crop each and both doubt some frowning,
screaming and afraid faces, pass after pass (docs/detection.md). CenterFace (Xu et al., 2019) is a whole face
detector of another family, trained on WIDER FACE's crowds, blur and occlusion: shown a crop of twice the box's
side, it says how sure it is of a face on that box. The confirmer (``confirm.py``) lets a doubted box's streak
run on it, and takes a box at once when it and ONet both lean to a face; it is asked only on boxes one look is
not sure of or that BlazeFace scores under 0.5 (``BlazeFaceDetector``'s ``centre``), so a calm face costs nothing
more (docs/detection.md, "A third network").

The network ships inside emocare (``emocare/models/centerface/centerface.onnx``, unmodified, with its MIT LICENSE
and a NOTICE); its sha256 is checked before OpenCV's DNN module loads it. About 3 ms a box on the 2 cores.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emocare.engines.confirm import ious
from emocare.errors import checked_model

FILE = ("centerface.onnx", "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc")
SIDE = 128  # the crop's side in pixels; always the same: OpenCV's DNN module answers wrongly after a change of shape
CROP = 2.0  # the crop's side, in box sides
MATCH = 0.3  # the overlap (IoU) one of CenterFace's boxes needs with the asked box to speak for it
LOWEST = 0.02  # heatmap values under this are no box at all
OUTPUTS = ("537", "538", "539", "540")  # heatmap, log box size, centre offset, landmarks (not used)
STRIDE = 4  # the heatmap's cell, in input pixels


def data_dir() -> Path:
    """``emocare/models/centerface``: the network as emocare ships it."""
    return Path(__file__).resolve().parent.parent / "models" / "centerface"


def model_path() -> Path:
    return checked_model(data_dir() / FILE[0], FILE[1], "face check model (CenterFace)")


class CenterFace:
    """``score(rgb, box)``: how sure CenterFace is of a face on ``box`` (x, y, w, h), 0 when it sees none there."""

    def __init__(self, path: Path | None = None):
        """``path``: the network file when the caller has checked it already (``model_path``); else it is checked
        here."""
        self._net = cv2.dnn.readNetFromONNX(str(path or model_path()))

    def score(self, rgb: np.ndarray, box) -> float:
        crop, asked = self.crop(rgb, box)
        found = self.boxes(crop)
        if not len(found):
            return 0.0
        matched = found[ious(asked, found[:, :4]) >= MATCH]
        return float(matched[:, 4].max()) if len(matched) else 0.0

    def boxes(self, crop: np.ndarray) -> np.ndarray:
        """CenterFace's boxes on one SIDE x SIDE RGB crop: rows of x1, y1, x2, y2, score (no suppression: the best
        match is all ``score`` needs)."""
        if crop.shape[:2] != (SIDE, SIDE):
            raise ValueError(f"CenterFace is asked on {SIDE}x{SIDE} crops, not {crop.shape[1]}x{crop.shape[0]}")
        self._net.setInput(cv2.dnn.blobFromImage(crop, 1.0, (SIDE, SIDE), (0, 0, 0), swapRB=False))
        heat, size, offset, _ = self._net.forward(list(OUTPUTS))
        ys, xs = np.nonzero(heat[0, 0] > LOWEST)
        h = np.exp(size[0, 0, ys, xs]) * STRIDE
        w = np.exp(size[0, 1, ys, xs]) * STRIDE
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE
        return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, heat[0, 0, ys, xs]], axis=1).astype(np.float32)

    @staticmethod
    def crop(rgb: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
        """The SIDE x SIDE crop of CROP box sides centred on ``box`` (the image's edge repeated beyond it), and the
        box in the crop's pixels (x1, y1, x2, y2)."""
        x, y, bw, bh = (float(v) for v in box)
        side = max(bw, bh, 1.0) * CROP
        scale = SIDE / side
        x0, y0 = x + bw / 2 - side / 2, y + bh / 2 - side / 2
        m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
        crop = cv2.warpAffine(rgb, m, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return crop, np.array([(x - x0) * scale, (y - y0) * scale, (x + bw - x0) * scale, (y + bh - y0) * scale],
                              np.float32)

