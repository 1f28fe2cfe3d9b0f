"""One way to time a loop, shared by ``bench`` (engines, ``--pipeline``) and ``watch --stats``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


@dataclass(frozen=True)
class Speed:
    """Frames per second and latency percentiles of one timed run."""

    fps: float
    p50_ms: float
    p95_ms: float

    @classmethod
    def of(cls, latencies_ms: Sequence[float]) -> "Speed":
        mean = float(np.mean(latencies_ms)) if len(latencies_ms) else 0.0
        return cls(1000.0 / mean if mean > 0 else 0.0, percentile(latencies_ms, 50), percentile(latencies_ms, 95))

    def to_json(self) -> dict:
        return {"fps": self.fps, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms}


def time_loop(make_step: Callable[[], Callable[[np.ndarray, int], T]], frames: Sequence[np.ndarray], *,
              repeat: int, warmup: int = 5, clock: Callable[[], float] = time.perf_counter,
              on_run: Callable[[int], None] = lambda r: None) -> tuple[list[float], list[T]]:
    """Time ``step(frame, index)`` over ``frames``, ``repeat`` times.

    Each run starts from a fresh ``make_step()``, warms it up on the first
    ``warmup`` frames (excluded), then starts again fresh and is timed.
    Returns the latencies (ms) of the run with the median median, and what
    the first timed run's steps returned.
    """
    runs: list[list[float]] = []
    outputs: list[T] = []
    for r in range(max(1, repeat)):
        on_run(r)
        step = make_step()
        for i, frame in enumerate(frames[:warmup]):
            step(frame, i)
        step = make_step()
        latencies = []
        for i, frame in enumerate(frames):
            started = clock()
            out = step(frame, i)
            latencies.append((clock() - started) * 1000.0)
            if r == 0:
                outputs.append(out)
        runs.append(latencies)
    medians = [float(np.median(run)) for run in runs]
    return runs[int(np.argsort(medians)[len(medians) // 2])], outputs
