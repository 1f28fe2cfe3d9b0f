"""DeepFace adapter: ``DeepFace.analyze(actions=['emotion'])`` → ``Face`` values.

DeepFace reports percentages (0-100); they are normalised to probabilities.
With ``enforce_detection=False`` DeepFace returns the whole image with
``face_confidence == 0`` when it finds no face: that is treated as no face.
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np

from emocare.engines import _quiet, weights
from emocare.errors import EngineUnavailable
from emocare.faces import Face, scores_from_mapping

log = logging.getLogger(__name__)

DETECTORS_OFFLINE = ("opencv", "skip")  # detectors that need no download of their own


class DeepFaceEngine:
    last_detect_ms: float | None = None  # the library does not time its stages
    last_classify_ms: float | None = None

    def __init__(self, name: str, detector: str = "opencv"):
        self.name = name
        if importlib.util.find_spec("deepface") is None:
            raise EngineUnavailable("deepface is not installed (run 'make install' or 'pip install deepface tf-keras')")
        path = weights.require_emotion_weights()
        if weights.is_random(path):
            log.warning("%s holds random weights (built for benchmarks): its emotions mean nothing", path)
        self.detector_name = detector
        try:
            with _quiet.quiet_imports():
                from deepface import DeepFace
                from deepface.modules import modeling
        except ImportError as exc:
            raise EngineUnavailable(f"deepface cannot be imported: {exc} (try 'make install')") from exc
        try:
            with _quiet.quiet_imports():
                # load the model once, now, so the first frame is not slow and errors surface here
                model = modeling.build_model(task="facial_attribute", model_name="Emotion")
                model.predict(np.zeros((48, 48, 3), dtype=np.float32))  # warm-up: builds the graph now
                # load the detector now too, so a detector that needs a download fails here, in one line
                DeepFace.extract_faces(np.zeros((64, 64, 3), dtype=np.uint8), detector_backend=detector,
                                       enforce_detection=False)
        except ValueError as exc:  # deepface raises ValueError when a download fails or a name is unknown
            if "facial_expression" in str(exc):
                raise weights.ModelMissing(weights.missing_message()) from exc
            raise EngineUnavailable(f"deepface detector {detector!r} cannot be used: {str(exc).splitlines()[0][:200]}") from exc
        except ImportError as exc:  # detectors with optional packages (mtcnn, mediapipe, dlib, ...)
            raise EngineUnavailable(f"deepface detector {detector!r} needs a package that is not installed: {exc}") from exc
        self._deepface = DeepFace

    def analyze(self, image: np.ndarray, *, stream: bool = False) -> list[Face]:
        results = self._deepface.analyze(
            image,
            actions=["emotion"],
            detector_backend=self.detector_name,
            enforce_detection=False,
            silent=True,
        )
        faces = []
        for r in results:
            if self.detector_name != "skip" and float(r.get("face_confidence", 0) or 0) <= 0:
                continue
            region = r["region"]
            box = (int(region["x"]), int(region["y"]), int(region["w"]), int(region["h"]))
            faces.append(Face(box=box, scores=scores_from_mapping(r["emotion"])))
        return faces

    def classify(self, image: np.ndarray, boxes) -> list[Face]:
        """Scores for given boxes, no detection (``bench --crops``): DeepFace with the 'skip' detector."""
        out = []
        for x, y, w, h in boxes:
            crop = image[y:y + h, x:x + w]
            r = self._deepface.analyze(crop, actions=["emotion"], detector_backend="skip", enforce_detection=False,
                                       silent=True)[0]
            out.append(Face(box=(x, y, w, h), scores=scores_from_mapping(r["emotion"])))
        return out

    def reset(self) -> None:
        """Nothing is carried between frames."""

    def close(self) -> None:
        pass


def build(spec, detector: str) -> DeepFaceEngine:
    """The registry's factory: DeepFace.analyze on TensorFlow."""
    return DeepFaceEngine(spec.name, detector=detector)


def build_onnx(spec, detector: str) -> DeepFaceEngine:
    """DeepFace.analyze on ONNX Runtime (deepface's own switch); the converted weights must be on disk."""
    import os

    from emocare.errors import EngineUnavailable

    onnx = spec.model_paths()[0]
    if not onnx.is_file():
        raise EngineUnavailable(f"DeepFace's ONNX emotion weights are not at {onnx}")
    os.environ["DEEPFACE_BACKEND_ENGINE"] = "onnx"
    return DeepFaceEngine(spec.name, detector=detector)
