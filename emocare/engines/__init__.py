"""Emotion engines behind one interface.

An engine takes a BGR frame and returns ``Face`` values: box ``(x, y, w, h)``
in that frame's pixels and 7 probabilities in ``EMOTIONS`` order summing to 1.
Nothing outside ``emocare.engines`` knows which library is running.

Adapters import their library inside their constructor, so importing this
package stays cheap.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from emocare.errors import EngineUnavailable, ModelMissing
from emocare.faces import Face, Faces

log = logging.getLogger(__name__)


@runtime_checkable
class Engine(Protocol):
    name: str

    def analyze(self, image: np.ndarray, *, stream: bool = False) -> list[Face]:
        """Faces found in a BGR uint8 image, boxes in that image's pixels.

        ``stream=True`` says this frame follows the previous one of the same
        video, so an engine may reuse what it found there (the fast path
        tracks boxes between detections); library adapters ignore it.
        """

    def close(self) -> None: ...


@dataclass(frozen=True)
class EngineChoice:
    name: str  # the engine actually built
    reason: str | None  # why auto chose it, when it fell back


FAST_ENGINES = ("emocare", "emocare-deepface", "emocare-fer")
FAST_DETECTORS = ("blazeface", "haar")  # the fast path's detectors; the libraries take their own


def choose(requested: str) -> EngineChoice:
    """Resolve ``auto`` among the models already on disk; nothing is downloaded or probed.

    DeepFace's model when its weights are on disk (through emocare's fast
    path: same model, no TensorFlow import), else emocare's own model, which
    ships inside the package.
    """
    if requested != "auto":
        return EngineChoice(requested, None)
    from emocare.engines import weights

    if weights.emotion_weights_present():
        return EngineChoice("emocare-deepface", None)
    return EngineChoice("emocare", None)


def build(name: str, detector: str = "auto") -> Engine:
    """Build the engine called ``name``.

    ``detector``: ``auto`` is BlazeFace for emocare's fast-path engines and
    OpenCV's Haar cascade for the libraries (their own default); ``haar`` and
    ``opencv`` name the same cascade.
    """
    if name in FAST_ENGINES:
        det = {"auto": "blazeface", "opencv": "haar"}.get(detector, detector)
        if det not in FAST_DETECTORS:
            from emocare.errors import ConfigError

            raise ConfigError(f"--detector {detector!r}: {name} uses {' or '.join(FAST_DETECTORS)}")
        from emocare.engines.fast import build_fast

        return build_fast(name.split("-", 1)[1] if "-" in name else name, detector=det)
    lib_detector = {"auto": "opencv", "haar": "opencv"}.get(detector, detector)
    if name == "deepface":
        from emocare.engines.deepface_engine import DeepFaceEngine

        return DeepFaceEngine(detector=lib_detector)
    if name in ("fer", "fer-keras"):
        from emocare.engines.fer_engine import FerEngine

        return FerEngine(detector=lib_detector, use_tflite=(name == "fer"))
    raise EngineUnavailable(f"unknown engine {name!r} (choose emocare, emocare-deepface, emocare-fer, deepface, fer or fer-keras)")


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its longer side is at most ``max_side``, and the factor back."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return image, 1.0
    import cv2

    scale = max_side / longest
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, longest / max_side


def analyze_frame(engine: Engine, image: np.ndarray, *, max_side: int = 1280,
                  frame_index: int = 0, t: float = 0.0, stream: bool = False, clock=time.perf_counter) -> Faces:
    """Run ``engine`` on a (possibly downscaled) copy; boxes come back in ``image``'s pixels."""
    h, w = image.shape[:2]
    small, back = downscale(image, max_side)
    started = clock()
    found = engine.analyze(small, stream=True) if stream else engine.analyze(small)
    ms = (clock() - started) * 1000.0
    faces = tuple(f.scaled(back).clipped(w, h) if back != 1.0 else f.clipped(w, h) for f in found)
    faces = tuple(f for f in faces if f.box[2] > 0 and f.box[3] > 0)
    return Faces(faces=faces, frame_index=frame_index, t=t, engine=engine.name, ms=ms, size=(w, h))


__all__ = ["Engine", "EngineChoice", "EngineUnavailable", "ModelMissing", "analyze_frame", "build", "choose", "downscale"]
