"""An engine that answers from a session video's truth CSV (``tests/data/sessions/NAME.truth.csv``): the
labelled emotion of the frame being shown, on the box where the frame differs from its flat background (the
sessions paste one face on a plain grey frame; a fixed ``box`` for any other video). No model: what the page, the care policy
and the journal do can be tested and measured without an engine's speed or errors in the way.

In live mode frames are skipped, so the frame is found from the time since the first call and the video's
rate; in ``--fast`` mode every frame comes in order and the count is the frame.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from emocare.faces import EMOTIONS, Face


class TruthEngine:
    name = "truth"
    detector_name = "none"
    last_detect_ms = last_classify_ms = None

    def __init__(self, truth_csv: Path, *, fps: float = 15.0, box=None, live: bool = True,
                 clock=time.monotonic, loop: bool = True):
        with open(truth_csv, newline="") as fh:
            self.labels = [row["label"] for row in csv.DictReader(fh)]
        self.fps, self.box, self.live, self.clock, self.loop = fps, box, live, clock, loop
        self._t0: float | None = None
        self.calls = 0

    def _frame(self) -> int:
        if not self.live:
            return self.calls
        if self._t0 is None:
            self._t0 = self.clock()
        return int((self.clock() - self._t0) * self.fps)

    def analyze(self, image, *, stream: bool = False):
        i = self._frame()
        self.calls += 1
        i = i % len(self.labels) if self.loop else min(i, len(self.labels) - 1)
        p = np.full(len(EMOTIONS), 0.03)
        label = self.labels[i] if self.labels[i] in EMOTIONS else "neutral"
        p[EMOTIONS.index(label)] = 0.82
        box = self.box or _patch(image)
        return [] if box is None else [Face(box=box, scores=p / p.sum())]

    def classify(self, image, boxes):
        return []

    def reset(self) -> None:
        self._t0, self.calls = None, 0

    def close(self) -> None:
        pass


def _patch(image: np.ndarray, tolerance: float = 18.0, min_run: int = 12):
    """``(x, y, w, h)`` of what stands out of a flat background, or None."""
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(float)
    mask = np.abs(grey - np.median(grey)) > tolerance
    cols = np.flatnonzero(mask.sum(axis=0) >= min_run)
    rows = np.flatnonzero(mask.sum(axis=1) >= min_run)
    if not len(cols) or not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
