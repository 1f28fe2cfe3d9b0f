"""Analysis: the analysis side of a ``watch`` session: one step over a frame (pipeline, journal lines, care,
face sinks, mood history), its rate (``FPSMeter``), and what the analysis thread shares with the display loop
(``Shared``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Protocol, Sequence

from emocare.faces import Faces
from emocare.journal import Journal, MoodRecorder
from emocare.pipeline import Pipeline
from emocare.capture import Frame


class FPSMeter:
    """Events per second over the last ``span_s`` seconds (clock injected)."""

    def __init__(self, span_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.span_s = span_s
        self.clock = clock
        self._ticks: deque[float] = deque()

    def tick(self) -> None:
        now = self.clock()
        self._ticks.append(now)
        while self._ticks and self._ticks[0] < now - self.span_s:
            self._ticks.popleft()

    @property
    def fps(self) -> float:
        if len(self._ticks) < 2:
            return 0.0
        span = self._ticks[-1] - self._ticks[0]
        return (len(self._ticks) - 1) / span if span > 0 else 0.0


class Carer(Protocol):
    """What the session needs from the care component (``emocare.care``)."""

    muted: bool

    def observe(self, faces: Faces) -> None: ...

    def banner(self, t: float) -> tuple[str, str] | None: ...

    def close(self) -> None: ...


class Shared:
    """What the display loop and the analysis thread share, behind one lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._latest = Faces.empty()
        self._paused = False
        self._latency_ms: list[float] = []
        self._last_t = 0.0

    def publish(self, faces: Faces) -> None:
        with self._lock:
            self._latest = faces

    def latest(self) -> Faces:
        with self._lock:
            return self._latest

    def seen(self, t: float) -> None:
        with self._lock:
            self._last_t = t

    @property
    def last_t(self) -> float:
        with self._lock:
            return self._last_t

    def add_latency(self, ms: float) -> None:
        with self._lock:
            self._latency_ms.append(ms)

    def latencies(self) -> list[float]:
        with self._lock:
            return list(self._latency_ms)

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        with self._lock:
            self._paused = value


class Analysis:
    """One analysis step: pipeline, journal lines, care, meters and mood history; returns the ``Faces``."""

    def __init__(self, pipeline: Pipeline, journal: Journal, carer: Carer | None,
                 face_sinks: Sequence[Callable[[Faces], None]], meter: FPSMeter):
        self.pipeline = pipeline
        self.recorder = MoodRecorder(journal)
        self.carer = carer
        self.face_sinks = list(face_sinks)  # a sink's on_faces, e.g. the terminal status line
        self.meter = meter
        self.history: deque[tuple[float, str]] = deque(maxlen=4000)  # (t, primary mood) at each change
        self.count = 0

    def step(self, frame: Frame) -> Faces:
        faces = self.pipeline.step(frame.image, frame.index, frame.t)
        self.meter.tick()
        self.recorder.record(faces)
        primary = faces.primary_face()
        if primary is not None and primary.mood is not None:
            if not self.history or self.history[-1][1] != primary.mood.label:
                self.history.append((faces.t, primary.mood.label))
        if self.carer is not None:
            self.carer.observe(faces)
        for sink in self.face_sinks:
            sink(faces)
        self.count += 1
        return faces
