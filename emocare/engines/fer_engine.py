"""FER adapter: ``FER.detect_emotions`` → ``Face`` values.

FER rounds its scores to two decimals, so they are renormalised to sum to 1.
Its default detector is OpenCV's Haar cascade; ``mtcnn`` needs facenet-pytorch
(which drags a multi-GB torch, so it is not installed by default).
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np

from emocare.engines import _quiet
from emocare.errors import EngineUnavailable
from emocare.faces import Face, scores_from_mapping

log = logging.getLogger(__name__)


class FerEngine:
    last_detect_ms: float | None = None  # the library does not time its stages
    last_classify_ms: float | None = None

    def __init__(self, name: str, detector: str = "opencv", use_tflite: bool = True):
        if importlib.util.find_spec("fer") is None:
            raise EngineUnavailable("fer is not installed (run 'make install' or 'pip install --no-deps fer')")
        if detector not in ("opencv", "haar", "mtcnn"):
            raise EngineUnavailable(f"fer engine: detector {detector!r} is not supported (use opencv or mtcnn)")
        mtcnn = detector == "mtcnn"
        if mtcnn and importlib.util.find_spec("facenet_pytorch") is None:
            raise EngineUnavailable(
                "fer engine: --detector mtcnn needs facenet-pytorch (pip install facenet-pytorch torch), "
                "or use --detector opencv"
            )
        self.name = name
        self.detector_name = "mtcnn" if mtcnn else "opencv"
        self._tflite = use_tflite
        self._crops = None
        try:
            with _quiet.quiet_imports():
                from fer.fer import FER

                self._fer = FER(mtcnn=mtcnn, use_tflite=use_tflite)
                # one warm-up inference: the first one builds the interpreter's delegate (and logs about it)
                self._fer._classify_emotions(np.zeros((1, 64, 64), dtype=np.float32))
        except ImportError as exc:
            raise EngineUnavailable(f"fer cannot be imported: {exc} (try 'make install')") from exc

    def analyze(self, image: np.ndarray, *, stream: bool = False) -> list[Face]:
        faces = []
        for r in self._fer.detect_emotions(image):
            x, y, w, h = (int(v) for v in r["box"])
            faces.append(Face(box=(x, y, w, h), scores=scores_from_mapping(r["emotions"])))
        return faces

    def classify(self, image: np.ndarray, boxes) -> list[Face]:
        """Scores for given boxes, no detection (``bench --crops``): FER with no offsets around the box."""
        if self._crops is None:
            from fer.fer import FER

            with _quiet.quiet_imports():
                self._crops = FER(use_tflite=self._tflite, offsets=(0, 0))
        out = []
        for r in self._crops.detect_emotions(image, face_rectangles=[tuple(int(v) for v in b) for b in boxes]):
            out.append(Face(box=tuple(int(v) for v in r["box"]), scores=scores_from_mapping(r["emotions"])))
        return out

    def reset(self) -> None:
        """Nothing is carried between frames."""

    def close(self) -> None:
        pass


def build(spec, detector: str) -> FerEngine:
    """The registry's factory: FER with the model file ``spec.options['tflite']`` names."""
    return FerEngine(spec.name, detector=detector, use_tflite=spec.options["tflite"])
