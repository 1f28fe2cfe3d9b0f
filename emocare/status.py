"""What ``watch`` shows in the terminal while it runs.

Each event is a line of its own: a person's mood changing, or care given.
On a terminal a live status line stays below them (rich ``Live``, 4 times a
second, on stderr): the session's time (media time for a file, as in the
event lines and the journal), each person in view by number (as in the
window) with their mood, whom care follows ("main"), the last care, the
rate. It is written to fit the terminal's width: on a narrow one it says
less rather than being cut. Warnings logged meanwhile print as lines of
their own above it, never glued to it. Not on a terminal (a log file, a
pipe) only the event lines are written. ``--quiet`` shows neither.

Fed by two hooks: ``on_faces`` (each analysed frame, from the analysis
thread) and ``on_record`` (each journal line, from whichever thread wrote it);
one lock guards the state, and the clock is injected. The words are the
session's language's (``--lang``: English or Simplified Chinese, ``terminal_words``;
the moods named as the window and the web page name them).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from typing import Callable

from emocare.faces import Faces
from emocare.records import CareRecord, ChangeRecord, Record
from emocare.terminal_words import action_words, words_for

SEP = " · "


def event_line(rec: Record, lang: str = "en") -> str | None:
    """The line a journal record prints as (mood changes and care), or None for the others."""
    if not isinstance(rec, (ChangeRecord, CareRecord)):
        return None
    w, mood = words_for(lang)
    t = w["seconds"].format(t=float(rec.t)).rjust(9)
    who = w["person"].format(id="?" if rec.id is None else rec.id)
    if isinstance(rec, ChangeRecord):
        return f"{t}  " + w["change"].format(who=who, before=mood(rec.from_), after=mood(rec.to))
    action = action_words(w, rec.action)
    return f"{t}  " + w["care"].format(who=who, action=action, mood=mood(rec.mood))


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (a Chinese character takes two)."""
    from rich.cells import cell_len

    while text and cell_len(text) > width:
        text = text[:-1]
    return text


class _Lines:
    """A text stream whose every line is printed with ``console.print``: above a live display, not into it."""

    def __init__(self, console):
        self.console = console
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._buffer = self._buffer, ""
        if rest:
            self.console.print(rest, markup=False, highlight=False, emoji=False, soft_wrap=True)


class StatusLine:
    def __init__(self, console, *, live: bool, clock: Callable[[], float] = time.monotonic, lang: str = "en"):
        self.console = console
        self.lang = lang
        self.live = live
        self.clock = clock
        self._lock = threading.Lock()
        self._ticks: deque[float] = deque(maxlen=60)
        self._moods: dict[int, tuple[str, float]] = {}
        self._primary: int | None = None
        self._care: tuple[str, float] | None = None  # (action, media time)
        self._t = 0.0
        self._live = None
        self._handlers: list[tuple[logging.StreamHandler, object]] = []

    # ------------------------------------------------------------ hooks
    def on_faces(self, faces: Faces) -> None:
        with self._lock:
            self._ticks.append(self.clock())
            self._t = max(self._t, faces.t)
            self._primary = faces.primary
            self._moods = {f.track_id: (f.mood.label, f.mood.confidence) for f in faces
                           if f.track_id is not None and f.mood is not None}

    def on_record(self, rec: Record) -> None:
        with self._lock:  # an event line is printed now: the line below it must not say an earlier time or mood
            if isinstance(rec, (CareRecord, ChangeRecord)):
                self._t = max(self._t, float(rec.t))
            if isinstance(rec, CareRecord):
                self._care = (str("?" if rec.action is None else rec.action), float(rec.t))
            elif isinstance(rec, ChangeRecord) and rec.to is not None and rec.id in self._moods:
                conf = self._moods[rec.id][1] if rec.confidence is None else float(rec.confidence)
                self._moods[rec.id] = (str(rec.to), conf)
        line = event_line(rec, self.lang)
        if line is not None:  # on a terminal this goes above the live line
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    # ------------------------------------------------------------ the line
    def fps(self) -> float:
        ticks = list(self._ticks)
        return (len(ticks) - 1) / (ticks[-1] - ticks[0]) if len(ticks) > 1 and ticks[-1] > ticks[0] else 0.0

    def text(self, width: int = 10_000) -> str:
        """The status line, as much of it as fits ``width`` columns (the most useful parts kept longest; a Chinese
        character takes two)."""
        from rich.cells import cell_len

        with self._lock:
            # the session's time, as the event lines and the journal count it
            moods = sorted(self._moods.items(), key=lambda kv: (kv[0] != self._primary, kv[0]))  # main first
            fps, care, primary, t = self.fps(), self._care, self._primary, self._t
        w, name = words_for(self.lang)
        elapsed = w["seconds"].format(t=t).rjust(8)
        n = len(moods)

        def person(pid, mood, conf, main):
            return f"{pid} {name(mood)} {conf * 100:.0f}%{w['main'] if main else ''}"

        if not moods:
            people = short = w["nobody"]
        elif n == 1:
            pid, (mood, conf) = moods[0]
            people = short = w["person"].format(id=person(pid, mood, conf, False))
        else:
            listed = ", ".join(person(pid, m, c, pid == primary) for pid, (m, c) in moods)
            people = w["people"].format(n=n, listed=listed)
            pid, (mood, conf) = moods[0]
            short = w["people"].format(n=n, listed=f"{person(pid, mood, conf, pid == primary)}, +{n - 1}")
        action = action_words(w, care[0]) if care else ""
        care_long = w["last_care"].format(action=action, t=care[1]) if care else w["no_care"]
        care_short = w["care_short"].format(t=care[1]) if care else w["no_care"]
        rate = w["fps"].format(fps=fps)
        candidates = [
            [elapsed, people, care_long, rate],
            [elapsed, people, care_long],
            [elapsed, people, care_short],
            [elapsed, short, care_short],
            [elapsed, short],
            [short],
        ]
        for parts in candidates:
            line = SEP.join(parts)
            if cell_len(line) <= width:
                return line
        return _cut(candidates[-1][0], max(1, width))

    def __rich_console__(self, console, options):
        from rich.text import Text

        yield Text(self.text(max(1, options.max_width - 1)), overflow="crop", no_wrap=True)

    def __enter__(self) -> "StatusLine":
        if self.live:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.__enter__()
            self._lines_above()
        return self

    def _lines_above(self) -> None:
        """Logging handlers writing to this terminal write through the console while the line is up."""
        ours = {id(sys.stderr), id(sys.__stderr__), id(self.console.file)}
        lines = _Lines(self.console)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in ours:
                self._handlers.append((handler, handler.setStream(lines)))

    def __exit__(self, *exc) -> None:
        for handler, stream in self._handlers:
            handler.setStream(stream)
        self._handlers = []
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
