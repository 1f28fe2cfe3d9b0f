"""The rolling-window classifier: flickering per-frame scores → a steady mood per person.

Pure logic, clock injected (every call takes ``t``), no I/O.

- Window: the probability vectors of the last ``window_s`` seconds are
  averaged. ``mean`` is the plain average of the samples inside the window;
  ``ema`` weights each sample by ``exp(-age / tau)`` with ``tau = window_s / 3``
  (time-based, so it does not depend on the frame rate).
- Hysteresis: a new leader replaces the current mood only after it has led
  the averaged scores for ``hold_s`` seconds.
- Minimum confidence: when the leader's averaged probability is below
  ``min_confidence`` the leader is ``uncertain`` (also subject to the hold).
  A mood already adopted is kept while it still leads with at least
  ``keep_confidence`` (hysteresis on the threshold, so that a steady mood
  whose share hovers around ``min_confidence`` does not flicker through
  ``uncertain``).
- Valence: the averaged probability mass of the negative emotions (default
  sad, angry, fear, disgust) against ``negative_threshold`` (positive ones
  against ``positive_threshold``), with the same hold. Valence is judged on
  the mass, not the adopted label, because a model that confuses sad with
  fear or angry (FER does) still agrees that the person is unhappy;
  ``negative_for_s`` counts from when negative valence was adopted and
  ``concern`` names the leading negative emotion. A person seen for less than
  one window is not judged negative yet: one or two faces are not a mood,
  and a wrong start would also hold back the right comfort by the cooldown.
- Gaps: samples older than the window age out even when no face is seen; a
  gap longer than ``gap_reset_s`` between two sightings resets the person.

A sustained change is adopted within ``window_s + hold_s`` of its start.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from emocare.faces import EMOTIONS, UNCERTAIN, Faces, Mood
from emocare.settings import DEFAULTS, Smoothing

# The negative threshold when neither the settings nor the emotion model name one ("auto" and a model that declares
# none: DeepFace's, FER's, an older emocare model)
NEGATIVE_THRESHOLD = 0.6


def window_average(samples: Sequence[tuple[float, np.ndarray]], now: float, window_s: float,
                   method: Smoothing = Smoothing.MEAN) -> np.ndarray | None:
    """Average of the samples with ``now - window_s < t <= now`` (None when there are none)."""
    inside = [(t, s) for t, s in samples if now - window_s < t <= now]
    if not inside:
        return None
    stack = np.stack([s for _, s in inside])
    if method == "mean":
        return stack.mean(axis=0)
    if method == "ema":
        tau = window_s / 3.0
        w = np.array([math.exp(-(now - t) / tau) for t, _ in inside])
        return (stack * w[:, None]).sum(axis=0) / w.sum()
    raise ValueError(f"unknown smoothing method {method!r}")


@dataclass(frozen=True)
class MoodParams:
    """The rolling window's parameters; defaults are ``Settings``' (the one place they are written)."""

    window_s: float = DEFAULTS.window_s
    hold_s: float = DEFAULTS.hold_s
    min_confidence: float = DEFAULTS.min_confidence
    keep_confidence: float = DEFAULTS.keep_confidence
    method: Smoothing = DEFAULTS.smoothing
    gap_reset_s: float = DEFAULTS.gap_reset_s
    negative: tuple[str, ...] = DEFAULTS.negative
    positive: tuple[str, ...] = DEFAULTS.positive
    negative_threshold: float = NEGATIVE_THRESHOLD
    positive_threshold: float = DEFAULTS.positive_threshold

    @classmethod
    def from_settings(cls, s, model_threshold: float | None = None) -> "MoodParams":
        """``model_threshold``: the negative threshold the emotion model declares, used when the setting is "auto"."""
        threshold = s.negative_threshold
        if threshold == "auto":
            threshold = model_threshold if model_threshold is not None else NEGATIVE_THRESHOLD
        return cls(window_s=s.window_s, hold_s=s.hold_s, min_confidence=s.min_confidence,
                   keep_confidence=s.keep_confidence, method=s.smoothing,
                   gap_reset_s=s.gap_reset_s, negative=tuple(s.negative), positive=tuple(s.positive),
                   negative_threshold=float(threshold), positive_threshold=s.positive_threshold)

    def valence_of(self, scores: np.ndarray) -> str:
        neg = sum(float(scores[EMOTIONS.index(e)]) for e in self.negative)
        if neg >= self.negative_threshold:
            return "negative"
        pos = sum(float(scores[EMOTIONS.index(e)]) for e in self.positive)
        if pos >= self.positive_threshold:
            return "positive"
        return "neutral"

    def concern(self, scores: np.ndarray) -> str:
        return max(self.negative, key=lambda e: float(scores[EMOTIONS.index(e)]))


class Held:
    """A value that changes only after a new proposal has stood for ``hold_s`` (hysteresis)."""

    def __init__(self, value: str, t: float = 0.0):
        self.value = value
        self.since = t
        self._candidate: str | None = None
        self._candidate_since = t

    def propose(self, proposal: str, t: float, hold_s: float) -> bool:
        """Offer ``proposal`` at time ``t``; True when it was adopted now."""
        if proposal == self.value:
            self._candidate = None
            return False
        if self._candidate != proposal:
            self._candidate, self._candidate_since = proposal, t
        if t - self._candidate_since >= hold_s:
            self.value, self.since, self._candidate = proposal, t, None
            return True
        return False


class PersonMood:
    """The rolling window and hysteresis state of one person."""

    def __init__(self, params: MoodParams):
        self.p = params
        self._samples: deque[tuple[float, np.ndarray]] = deque()
        self.reset(0.0)

    def reset(self, t: float) -> None:
        self._first_seen: float | None = None
        self._samples.clear()
        self.mood = Held(UNCERTAIN, t)
        self.valence = Held("neutral", t)
        self._negative_since: float | None = None
        self._last_seen: float | None = None
        self._scores = np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))

    def update(self, t: float, scores: np.ndarray | None) -> Mood:
        if scores is not None:
            if self._last_seen is not None and t - self._last_seen > self.p.gap_reset_s:
                self.reset(t)
            self._last_seen = t
            if self._first_seen is None:
                self._first_seen = t
            self._samples.append((t, np.asarray(scores, dtype=np.float64)))
        while self._samples and self._samples[0][0] <= t - self.p.window_s:
            self._samples.popleft()
        avg = window_average(self._samples, t, self.p.window_s, self.p.method)
        if avg is None:
            leader, conf = UNCERTAIN, 0.0
        else:
            self._scores = avg
            i = int(np.argmax(avg))
            conf = float(avg[i])
            leader = EMOTIONS[i]
            bar = self.p.keep_confidence if leader == self.mood.value else self.p.min_confidence
            if conf < bar:
                leader = UNCERTAIN
        self.mood.propose(leader, t, self.p.hold_s)
        if avg is not None:
            proposal = self.p.valence_of(avg)
            if proposal == "negative" and t - self._first_seen < self.p.window_s:
                proposal = self.valence.value  # a full window first
            if self.valence.propose(proposal, t, self.p.hold_s):
                self._negative_since = t if self.valence.value == "negative" else None
        elif self.valence.value != "neutral":
            self.valence = Held("neutral", t)  # nobody seen for a whole window
            self._negative_since = None
        valence = self.valence.value
        current = self.mood.value
        cur_conf = float(self._scores[EMOTIONS.index(current)]) if current in EMOTIONS else conf
        return Mood(
            label=current,
            confidence=cur_conf,
            valence=valence,
            negative_for_s=(t - self._negative_since) if self._negative_since is not None else 0.0,
            scores=self._scores.copy(),
            since=self.mood.since,
            concern=self.p.concern(self._scores) if valence == "negative" else None,
        )


class Smoother:
    """One ``PersonMood`` per track id; returns new ``Faces`` with ``mood`` filled in."""

    def __init__(self, params: MoodParams):
        self.params = params
        self._people: dict[int, PersonMood] = {}
        self._last_seen: dict[int, float] = {}

    def update(self, faces: Faces) -> Faces:
        out = []
        for face in faces:
            if face.track_id is None:
                out.append(face)
                continue
            person = self._people.get(face.track_id)
            if person is None:
                person = self._people[face.track_id] = PersonMood(self.params)
                person.reset(faces.t)
            self._last_seen[face.track_id] = faces.t
            out.append(replace(face, mood=person.update(faces.t, face.scores)))
        for tid in [tid for tid, seen in self._last_seen.items() if faces.t - seen > self.params.gap_reset_s]:
            self._people.pop(tid, None)
            self._last_seen.pop(tid, None)
        return replace(faces, faces=tuple(out))

    def reset(self) -> None:
        self._people.clear()
        self._last_seen.clear()
