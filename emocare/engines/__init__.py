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
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from emocare.engines import registry
from emocare.errors import EngineUnavailable, ModelMissing

if TYPE_CHECKING:  # pragma: no cover  (numpy and faces load with the first engine, not with --help)
    import numpy as np

    from emocare.faces import Face, Faces

log = logging.getLogger(__name__)


@runtime_checkable
class Engine(Protocol):
    """What every caller may use; ``registry.ENGINES`` lists the implementations."""

    name: str
    detector_name: str  # the face detector it runs
    last_detect_ms: float | None  # the last analyze's detection time (None: the library does not time it)
    last_classify_ms: float | None

    def analyze(self, image: np.ndarray, *, stream: bool = False) -> list[Face]:
        """Faces found in a BGR uint8 image, boxes in that image's pixels.

        ``stream=True`` says this frame follows the previous one of the same
        video, so an engine may reuse what it found there (emocare's own path
        tracks boxes between detections); library adapters ignore it.
        """

    def classify(self, image: np.ndarray, boxes) -> list[Face]:
        """Scores for the given boxes, no detection (``bench --crops``)."""

    def reset(self) -> None:
        """Forget what the previous frames left (a new video starts)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class EngineChoice:
    name: str  # the engine actually built
    reason: str | None  # why auto chose it, when it fell back


def choose(requested: str) -> EngineChoice:
    """Resolve ``auto`` among the models already on disk; nothing is downloaded or probed (``registry.resolve_auto``)."""
    if requested != registry.AUTO:
        return EngineChoice(requested, None)
    from emocare.engines import weights

    return EngineChoice(registry.resolve_auto(weights.real_emotion_weights_present), None)  # never random weights


def build(name: str, detector: str = registry.AUTO) -> Engine:
    """Build the engine called ``name`` (``registry.EngineSpec.build``).

    ``detector``: ``auto`` is BlazeFace for emocare's own engines and
    OpenCV's Haar cascade for the libraries (their own default); ``haar`` and
    ``opencv`` name the same cascade.
    """
    return registry.get(name).build(detector)


def build_from_settings(settings) -> Engine:
    """The engine ``settings`` ask for (``auto``: among the models on disk, never a download; never random weights,
    which an engine named explicitly says it reads, on every run)."""
    name = choose(settings.engine).name
    announce_random_weights(name)
    return build(name, detector=settings.detector)


def announce_random_weights(name: str) -> None:
    """The one warning line when engine ``name`` would read DeepFace weights made by ``models build-random``."""
    if registry.get(name).needs_deepface_weights:
        from emocare.engines import weights

        weights.warn_if_random(name)


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


def analyze_frame(engine: Engine, image: np.ndarray, *, max_side: int | None = None,
                  frame_index: int = 0, t: float = 0.0, stream: bool = False, clock=time.perf_counter) -> Faces:
    """Run ``engine`` on a (possibly downscaled) copy; boxes come back in ``image``'s pixels."""
    if max_side is None:
        from emocare.settings import DEFAULTS

        max_side = DEFAULTS.max_side
    h, w = image.shape[:2]
    small, back = downscale(image, max_side)
    started = clock()
    found = engine.analyze(small, stream=True) if stream else engine.analyze(small)
    ms = (clock() - started) * 1000.0
    faces = tuple(f.scaled(back).clipped(w, h) if back != 1.0 else f.clipped(w, h) for f in found)
    faces = tuple(f for f in faces if f.box[2] > 0 and f.box[3] > 0)
    from emocare.faces import Faces

    return Faces(faces=faces, frame_index=frame_index, t=t, engine=engine.name, ms=ms, size=(w, h))


__all__ = ["Engine", "EngineChoice", "EngineUnavailable", "ModelMissing", "analyze_frame", "build", "choose", "downscale"]
