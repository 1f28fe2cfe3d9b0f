"""What ``watch`` shows in the terminal while it runs.

On a terminal: one live line (rich ``Live``, refreshed 4 times a second, on
stderr): elapsed time, analysis fps, people, each person's steady mood, the
last care action. Not on a terminal (a log file, a pipe): one plain line per
event instead: a mood change or a care action. ``--quiet`` shows neither.

Fed by two hooks: ``on_faces`` (each analysed frame, from the analysis
thread) and ``on_record`` (each journal line, from whichever thread wrote it);
one lock guards the state, and the clock is injected.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from emocare.faces import Faces


class StatusLine:
    def __init__(self, console, *, live: bool, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.live = live
        self.clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._ticks: deque[float] = deque(maxlen=60)
        self._moods: dict[int, str] = {}
        self._primary: int | None = None
        self._care = "none yet"
        self._t = 0.0
        self._live = None

    # ------------------------------------------------------------ hooks
    def on_faces(self, faces: Faces) -> None:
        with self._lock:
            self._ticks.append(self.clock())
            self._t = faces.t
            self._primary = faces.primary
            self._moods = {f.track_id: f"{f.mood.label} {f.mood.confidence:.2f}" for f in faces
                           if f.track_id is not None and f.mood is not None}

    def on_record(self, rec: dict) -> None:
        kind = rec.get("type")
        if kind == "care":
            with self._lock:
                self._care = f"{rec.get('action', '?')} at {rec.get('t', 0):.1f} s"
        if self.live or kind not in ("change", "care"):
            return
        t = f"{float(rec.get('t', 0.0)):7.1f} s"
        if kind == "change":
            self.console.print(f"{t}  #{rec.get('id')} {rec.get('from')} → {rec.get('to')}", highlight=False)
        else:
            self.console.print(f"{t}  #{rec.get('id', '?')} care: {rec.get('action')} ({rec.get('mood', '?')})",
                               highlight=False)

    # ------------------------------------------------------------ the line
    def fps(self) -> float:
        ticks = list(self._ticks)
        return (len(ticks) - 1) / (ticks[-1] - ticks[0]) if len(ticks) > 1 and ticks[-1] > ticks[0] else 0.0

    def text(self) -> str:
        with self._lock:
            people = " · ".join(f"#{pid}{'*' if pid == self._primary else ''} {m}" for pid, m in sorted(self._moods.items()))
            return (f"{self.clock() - self._started:6.1f} s · {self.fps():5.1f} fps · media {self._t:.1f} s · "
                    f"{len(self._moods)} {'person' if len(self._moods) == 1 else 'people'}"
                    f"{' · ' + people if people else ''} · care: {self._care}")

    def __rich__(self):
        from rich.text import Text

        return Text(self.text(), overflow="ellipsis", no_wrap=True)

    def __enter__(self) -> "StatusLine":
        if self.live:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
