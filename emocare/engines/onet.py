"""MTCNN's output network (ONet) as a second face check on BlazeFace's boxes, run by OpenCV's DNN module.

MTCNN (Zhang et al., 2016) ends in a small network that looks at a 48x48 square of a candidate box and says
whether it holds a face: trained on real faces of every kind against hard non-face patches, at the resolution of
FER2013's own crops. The landmark model's presence score (``blazeface.py``) doubts frowning, screaming and afraid
faces, often down to 0.001; ONet often does not, and it doubts different non-faces: the boxes the landmark model
is sure of on a held-up cat get an ONet score under 0.01. The two scores together are the face check
(``confirm.sure`` for one look, ``confirm.evidence`` for a still box's streak; docs/detection.md has the
measurements).

The network ships inside emocare (``emocare/models/mtcnn/onet.onnx``, with the MIT LICENSE of the weights' source
and a NOTICE): ``tools/make_onet.py`` writes it from the PyPI package ``mtcnn`` 0.1.1's weights, unmodified, and
checks it against a numpy forward pass. Its sha256 is checked before loading. OpenCV runs it in every install:
about 0.9 ms a box, on two squares at once (``CROPS``: one square's score moves with where it falls).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emocare.errors import checked_model


FILE = ("onet.onnx", "eb54073ea2281576babde1a259fd4f91afbe7f0870dc86f8a779720e3ce5e2ea")
SIDE = 48  # the network's input: a 48x48 RGB square
# the squares' sides, in box sides: BlazeFace's box is tighter than the face boxes MTCNN learnt from, and by how
# much varies with the face's size and expression. The first is the square one look is judged on; a still box's
# streak takes the mean over all of them (``confirm.py``; docs/detection.md, "Two squares")
CROPS = (1.4, 1.2)


def data_dir() -> Path:
    """``emocare/models/mtcnn``: the network as emocare ships it."""
    return Path(__file__).resolve().parent.parent / "models" / "mtcnn"


def model_path() -> Path:
    return checked_model(data_dir() / FILE[0], FILE[1], "face check model")


class ONet:
    """``scores(rgb, box)``: the probabilities that the squares around ``box`` (x, y, w, h) hold a face."""

    def __init__(self):
        self._net = cv2.dnn.readNetFromONNX(str(model_path()))

    def probability(self, square: np.ndarray) -> float:
        """Face probability for one 48x48 RGB uint8 square."""
        return float(self.probabilities(square[None])[0])

    def probabilities(self, squares: np.ndarray) -> np.ndarray:
        """Face probabilities for N 48x48 RGB uint8 squares (N x 48 x 48 x 3), in one forward pass."""
        # MTCNN's networks came from Caffe and read the image transposed (x before y), scaled to -1..1
        blob = ((squares.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 2, 1)
        self._net.setInput(np.ascontiguousarray(blob))
        out = self._net.forward()
        return 1.0 / (1.0 + np.exp(np.clip(out[:, 0] - out[:, 1], -80, 80)))

    def scores(self, rgb: np.ndarray, box) -> tuple[float, ...]:
        """The face probability on each square of ``CROPS`` around ``box``, in one forward pass. One square alone
        sits near the thresholds for some faces (a 190 px face scored 0.02 at 1.4 box sides and 0.77 at 1.2)."""
        return tuple(float(p) for p in self.probabilities(np.stack([self.square(rgb, box, c) for c in CROPS])))

    @staticmethod
    def square(rgb: np.ndarray, box, crop: float) -> np.ndarray:
        """The 48x48 square of ``crop`` box sides centred on ``box`` (x, y, w, h; floats kept)."""
        x, y, bw, bh = (float(v) for v in box)
        side = max(bw, bh) * crop
        scale = SIDE / max(side, 1.0)
        x0, y0 = x + bw / 2 - side / 2, y + bh / 2 - side / 2
        m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
        # the image outside the frame is black, as MTCNN pads it
        return cv2.warpAffine(rgb, m, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
