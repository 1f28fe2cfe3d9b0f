"""Which of a detection pass's boxes are faces: the verifier's word on this pass, and what the passes before said.

Two networks look at each new box (``blazeface.py``): the face-landmark model (its face-presence score) and
MTCNN's ONet (``onet.py``). Either alone is a verdict on one look that can be wrong both ways: the landmark
model keeps the detector off an animated title card but doubts frowning, screaming and afraid faces far more
than calm ones, refusing a real face pass after pass, and it is sure of a held-up cat's face; ONet gives those
frowning faces a fair score and the cat almost none, but doubts other faces. Here a box becomes a face

- at once, when it is ``sure``: one network's score reaches ``accept``, the other's at least ``agree``, and
  BlazeFace's own score reaches ``accept_score``; ONet's score here is its look at the first of its squares
  (1.4 box sides), since a face accepted at once is not asked again;
- or when it stays put for ``passes`` detection passes in a row, each time with ONet's score (``evidence``: its
  mean over its squares, 1.4 and 1.2 box sides) of at least ``floor`` and a BlazeFace score of at least
  ``streak_score``: a real face sits where it sat; a false box on moving graphics drifts or flickers, and on
  still textures and pictures ONet's score stays near zero. One square's score moves with where the square
  falls; the mean over two found big and frowning faces one square doubted, but as one look's score it let a
  held-up cat in for a frame, then carried it (docs/detection.md, "Two squares").

A third network, CenterFace (``centerface.py``), is asked in video on the boxes one look is not sure of, or that
BlazeFace scores under ``accept_score`` (``centre``; None: not asked): a box whose ONet evidence reaches ``floor`` and CenterFace's score ``centre_agree`` is taken at once
(BlazeFace at ``streak_score`` or more), and a still box's streak may run on CenterFace's score reaching
``centre_floor`` instead of ONet's evidence (docs/detection.md, "A third network").

A box the detector found only on its closer second look at a weak box (``closer``) is held to one more
rule: it is no candidate at all when the landmark model's presence is under ``closer_presence`` (on wallpapers
of water drops and patterns, such boxes got ONet's fair score but presence under 0.0006).

A box over a face confirmed in the previous pass stays a face without a new verdict, and a confirmed face the
detector misses once is kept for ``keep_missed`` passes (at its last box) before it is let go.

Pure and clock-free: plain numbers in, indices out; the engine decides when a pass runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

Box = tuple[float, float, float, float]  # x, y, w, h in pixels
ACCEPT, AGREE = 0.9, 0.05  # one look is sure: one network at ACCEPT or more, the other at AGREE or more


Squares = float | Sequence[float]  # ONet's face probability on each of its squares (``onet.CROPS``); a float: one


@dataclass(frozen=True)
class Candidate:
    """One box of a detection pass: where it is, BlazeFace's score, and the face check's scores: the landmark
    model's face presence, ONet's face probabilities, one per square (``onet`` None: the presence score is
    the only one), and CenterFace's score (``centre`` None: not asked)."""

    box: Box
    score: float
    presence: float | None  # None: not asked (the box lies on a confirmed face)
    onet: Squares | None = None
    closer: bool = False  # found by the detector's closer second look at a weak box (``blazeface._closer``)
    centre: float | None = None  # CenterFace's score on the box; None: not asked


def _squares(onet: Squares) -> tuple[float, ...]:
    try:
        squares = tuple(float(v) for v in onet)
    except TypeError:  # one number (numpy's too): one square
        return (float(onet),)
    if not squares:
        raise ValueError("ONet's scores: none given")
    return squares


def evidence(presence: float, onet: Squares | None) -> float:
    """The score a still box's streak is held to: ONet's mean over its squares (the landmark model's, when ONet
    was not asked)."""
    if onet is None:
        return presence
    squares = _squares(onet)
    return sum(squares) / len(squares)


def sure(presence: float, onet: Squares | None, accept: float = ACCEPT, agree: float = AGREE) -> bool:
    """Whether one look is enough: one network's score reaches ``accept`` and the other's at least ``agree``;
    ONet's score is its first square's."""
    if onet is None:
        return presence >= accept
    look = _squares(onet)[0]
    return max(presence, look) >= accept and min(presence, look) >= agree


@dataclass(frozen=True)
class Kept:
    """A confirmed face the detector missed in this pass, kept at its last box (``track`` names it)."""

    box: Box
    track: int


@dataclass(frozen=True)
class Verdict:
    """``faces``: indices of the pass's candidates that are faces, and ``tracks`` the face each one is (its track,
    stable from pass to pass); ``kept``: confirmed faces missed this pass and still kept; ``pending``: whether
    some box is still waiting for confirmation (the engine looks again soon)."""

    faces: tuple[int, ...]
    tracks: tuple[int, ...]
    kept: tuple[Kept, ...]
    pending: bool


def iou(a: Box, b: Box) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def ious(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one (x1, y1, x2, y2) box with (M, 4) others (``iou`` for one x, y, w, h pair)."""
    ix1 = np.maximum(box[0], others[:, 0])
    iy1 = np.maximum(box[1], others[:, 1])
    ix2 = np.minimum(box[2], others[:, 2])
    iy2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def stays_put(a: Box, b: Box, still: float) -> bool:
    """Whether ``b`` is where ``a`` was: its centre moved at most ``still`` of the side, and its side changed by at
    most that share."""
    side_a, side_b = max(a[2], a[3]), max(b[2], b[3])
    if side_a <= 0 or side_b <= 0:
        return False
    dx = (b[0] + b[2] / 2) - (a[0] + a[2] / 2)
    dy = (b[1] + b[3] / 2) - (a[1] + a[3] / 2)
    return (dx * dx + dy * dy) ** 0.5 <= still * side_a and abs(side_b / side_a - 1) <= still


@dataclass
class _Track:
    box: Box
    confirmed: bool
    streak: int  # passes in a row the box was seen (and, while unconfirmed, met the floor)
    missed: int = 0


class Confirmer:
    """Keeps the tracks of detection passes and says which boxes are faces (see the module's docstring).

    ``known``: IoU above which a box is the same face as a confirmed one (no new verdict). ``closer_presence``: the
    landmark model's presence score a box of the detector's closer second look needs to be a candidate at all.
    ``centre_agree``, ``centre_floor``: CenterFace's scores for the two rules that use it (None: the rule is off).
    """

    def __init__(self, *, accept: float = ACCEPT, agree: float = AGREE, floor: float = 0.05, passes: int = 3,
                 still: float = 0.1, keep_missed: int = 1, known: float = 0.3, accept_score: float = 0.0,
                 streak_score: float = 0.0, closer_presence: float = 0.0, centre_agree: float | None = None,
                 centre_floor: float | None = None):
        if passes < 1:
            raise ValueError("passes must be at least 1")
        self.accept, self.agree, self.floor, self.passes, self.still = accept, agree, floor, passes, still
        self.accept_score, self.streak_score = accept_score, streak_score
        self.keep_missed, self.known, self.closer_presence = keep_missed, known, closer_presence
        self.centre_agree, self.centre_floor = centre_agree, centre_floor
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._ids: list[int] = []

    def reset(self) -> None:
        self._tracks, self._ids = [], []

    def known_boxes(self) -> list[Box]:
        """The confirmed faces' boxes, as of the last pass (or as ``update``'s ``moved`` placed them)."""
        return [t.box for t in self._tracks if t.confirmed]

    def update(self, candidates: Sequence[Candidate], moved: dict[int, Box] | None = None) -> Verdict:
        """One detection pass: its candidate boxes in, the verdict out. A candidate on a confirmed face needs no
        presence score (None); one that is not asked and continues no face is dropped. ``moved``: where the
        caller's tracking carried confirmed faces (track -> box) since the last pass."""
        for k, tid in enumerate(self._ids):
            if moved and tid in moved:
                self._tracks[k].box = moved[tid]
        # a box of the closer second look is no candidate at all when the landmark model rules a face out (one on a
        # confirmed face is not asked, and may continue it)
        ignored = {k for k, c in enumerate(candidates)
                   if c.closer and c.presence is not None and c.presence < self.closer_presence}
        tracks, ids, used, faces = self._continue_confirmed(candidates, ignored)
        kept = tuple(Kept(t.box, tid) for t, tid in zip(tracks, ids) if t.missed)
        waiting = [(t, tid) for t, tid in zip(self._tracks, self._ids) if not t.confirmed]
        pending = False
        for k, c in enumerate(candidates):
            if k in used or c.presence is None:
                continue
            track = self._judge(c, waiting)
            if track is None:
                continue
            tid = track[1]
            if track[0].confirmed:
                faces.append((k, tid))
            else:
                pending = True
            tracks.append(track[0])
            ids.append(tid)
        self._tracks, self._ids = tracks, ids
        faces.sort()
        return Verdict(tuple(k for k, _ in faces), tuple(t for _, t in faces), kept, pending)

    def _continue_confirmed(self, candidates: Sequence[Candidate], ignored: set[int]):
        """Step 1: the best-overlapping candidate (none of ``ignored``) continues each confirmed face; a face with
        none is kept for ``keep_missed`` passes. Returns the new tracks and their ids, the candidates used (with
        ``ignored``), and (candidate, track) pairs for the faces."""
        tracks, ids, used, faces = [], [], set(ignored), []
        for t, tid in zip(self._tracks, self._ids):
            if not t.confirmed:
                continue
            best = max((k for k in range(len(candidates)) if k not in used),
                       key=lambda k: iou(t.box, candidates[k].box), default=None)
            if best is not None and iou(t.box, candidates[best].box) > self.known:
                used.add(best)
                faces.append((best, tid))
                tracks.append(_Track(candidates[best].box, True, t.streak + 1))
                ids.append(tid)
            elif t.missed < self.keep_missed:
                tracks.append(_Track(t.box, True, t.streak, t.missed + 1))
                ids.append(tid)
        return tracks, ids, used, faces

    def _judge(self, c: Candidate, waiting: list) -> tuple[_Track, int] | None:
        """Step 2, one new candidate: its track (confirmed or still waiting) and id, or None when it is no face.
        ``waiting``: the unconfirmed tracks of the last pass not yet continued (the one continued is removed)."""
        if sure(c.presence, c.onet, self.accept, self.agree) and c.score >= self.accept_score \
                or self._centre_agrees(c):
            return _Track(c.box, True, 1), self._new_id()
        centred = c.centre is not None and self.centre_floor is not None and c.centre >= self.centre_floor
        if evidence(c.presence, c.onet) < self.floor and not centred or c.score < self.streak_score:
            return None
        before = next(((t, tid) for t, tid in waiting if stays_put(t.box, c.box, self.still)), None)
        streak = 1
        if before is not None:
            waiting.remove(before)
            streak = before[0].streak + 1
        tid = before[1] if before is not None else self._new_id()
        return _Track(c.box, streak >= self.passes, streak), tid

    def _centre_agrees(self, c: Candidate) -> bool:
        """Whether CenterFace and ONet both lean to a face: CenterFace at ``centre_agree``, ONet's evidence at
        ``floor``, BlazeFace at ``streak_score``."""
        return (c.centre is not None and self.centre_agree is not None and c.centre >= self.centre_agree
                and evidence(c.presence, c.onet) >= self.floor and c.score >= self.streak_score)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id
