"""The one result type that flows through the pipeline.

An engine turns a BGR frame into ``Faces``; the tracker adds ``track_id``;
the smoother adds ``mood``; the overlay, journal, care policy and JSON output
only ever read these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, overload

import numpy as np

# fer and deepface both use this order.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
UNCERTAIN = "uncertain"


def normalise(scores: Iterable[float]) -> np.ndarray:
    """Scores as float64 probabilities summing to 1 (uniform when all are 0)."""
    arr = np.clip(np.asarray(list(scores) if not isinstance(scores, np.ndarray) else scores, dtype=np.float64), 0, None)
    if arr.shape != (len(EMOTIONS),):
        raise ValueError(f"expected {len(EMOTIONS)} scores, got shape {arr.shape}")
    total = float(arr.sum())
    if total <= 0 or not np.isfinite(total):
        return np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))
    return arr / total


def scores_from_mapping(mapping: Mapping[str, float]) -> np.ndarray:
    """Scores in EMOTIONS order from a label->score mapping (any scale)."""
    return normalise([float(mapping.get(label, 0.0)) for label in EMOTIONS])


@dataclass(frozen=True, eq=False)
class Mood:
    """The steady mood of one person, as the rolling window sees it."""

    label: str  # one of EMOTIONS or UNCERTAIN
    confidence: float  # smoothed probability of ``label`` (or of the leader when uncertain)
    valence: str  # "negative", "positive" or "neutral" (from the averaged mass of each group)
    negative_for_s: float  # how long valence has been negative (0 when it is not)
    scores: np.ndarray  # smoothed probabilities, EMOTIONS order
    since: float  # time the current mood was adopted
    concern: str | None = None  # the leading negative emotion while valence is negative


@dataclass(frozen=True, eq=False)
class Face:
    """One face: box ``(x, y, w, h)`` in the input's pixels and 7 probabilities."""

    box: tuple[int, int, int, int]
    scores: np.ndarray
    track_id: int | None = None
    mood: Mood | None = None

    @property
    def dominant(self) -> str:
        return EMOTIONS[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))

    @property
    def area(self) -> int:
        return int(self.box[2]) * int(self.box[3])

    @property
    def emotions(self) -> dict[str, float]:
        """Label -> probability, in ``EMOTIONS`` order (a new dict each time)."""
        return {label: float(p) for label, p in zip(EMOTIONS, self.scores)}

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.scores)[:k]
        return [(EMOTIONS[i], float(self.scores[i])) for i in order]

    def scaled(self, factor: float) -> "Face":
        """The same face with its box multiplied by ``factor`` (rounded)."""
        x, y, w, h = self.box
        return replace(self, box=(round(x * factor), round(y * factor), round(w * factor), round(h * factor)))

    def clipped(self, width: int, height: int) -> "Face":
        """The same face with its box clipped to a ``width`` x ``height`` image."""
        x, y, w, h = self.box
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x) + int(w)), min(height, int(y) + int(h))
        return replace(self, box=(x0, y0, max(0, x1 - x0), max(0, y1 - y0)))

    def to_json(self) -> dict:
        out: dict = {
            "box": [int(v) for v in self.box],
            "emotions": {k: round(v, 6) for k, v in self.emotions.items()},
            "dominant": self.dominant,
            "confidence": round(self.confidence, 6),
        }
        if self.track_id is not None:
            out["id"] = self.track_id
        return out


@dataclass(frozen=True, eq=False)
class Faces(Sequence[Face]):
    """All faces of one frame, plus where and when the frame came from.

    A sequence of ``Face``: ``len(faces)``, ``faces[0]``, ``for face in faces``; a slice is a ``Faces`` of the
    same frame (``faces[:2]``).
    """

    faces: tuple[Face, ...] = ()
    frame_index: int = 0
    t: float = 0.0  # seconds: media time for files, injected clock for cameras
    engine: str = ""
    ms: float = 0.0  # time the engine took on this frame
    size: tuple[int, int] = (0, 0)  # (width, height) of the frame
    primary: int | None = field(default=None)  # track id of the person care acts for

    @classmethod
    def empty(cls, **kw) -> "Faces":
        return cls(faces=(), **kw)

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self) -> Iterator[Face]:
        return iter(self.faces)

    @overload
    def __getitem__(self, index: int) -> Face: ...

    @overload
    def __getitem__(self, index: slice) -> "Faces": ...

    def __getitem__(self, index: int | slice) -> "Face | Faces":
        if isinstance(index, slice):
            return replace(self, faces=self.faces[index])
        return self.faces[index]

    def primary_face(self) -> Face | None:
        for face in self.faces:
            if face.track_id is not None and face.track_id == self.primary:
                return face
        return None
