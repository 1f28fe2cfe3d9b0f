"""``emocare watch``: the live session loop over the shared pipeline.

Two loops, one per source policy:

- ``run_frames`` (``--fast`` on a file): every frame is analysed in order,
  synchronously; times are media times, so results do not depend on machine
  speed.
- ``run_live`` (camera, stream, or a file at its own rate): a capture thread
  keeps the newest frame (``LiveSource``), an analysis thread runs the
  pipeline on the newest frame it has not seen, and the display loop draws
  the newest result on the newest frame. Display never waits for analysis.

Both write the journal, ask the care component what to do, and draw with
the same overlay layers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence, Iterable, Protocol

import numpy as np

from emocare.faces import Faces
from emocare.journal import Journal, MoodRecorder
from emocare.overlay import BannerLayer, FaceLayer, HeaderInfo, HeaderLayer, HelpLayer, MoodStripLayer, bands
from emocare.pipeline import Pipeline
from emocare.sources import Frame, LiveSource
from emocare import window as window_mod

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class WatchOptions:
    source_label: str
    show_window: bool = True
    record: Path | None = None
    snapshot_dir: Path | None = None
    fps: float = 30.0


@dataclass
class WatchResult:
    reason: str  # "end of source", "quit", "window closed", "interrupted", "source lost", "journal write failed"
    summary: dict
    snapshots: list[Path] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    analysed_frames: int = 0
    displayed_frames: int = 0
    wall_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return {"interrupted": 130, "source lost": 3, "journal write failed": 1}.get(self.reason, 0)


class Session:
    def __init__(self, pipeline: Pipeline, journal: Journal, options: WatchOptions, *,
                 carer: Carer | None = None, clock: Callable[[], float] = time.monotonic,
                 window_factory: Callable[[], object] | None = None,
                 observers: Sequence[Callable[[Faces], None]] = ()):
        self.pipeline = pipeline
        self.observers = list(observers)  # e.g. the terminal status line
        self.journal = journal
        self.recorder = MoodRecorder(journal)
        self.options = options
        self.carer = carer
        self.clock = clock
        self._window_factory = window_factory or (lambda: window_mod.Window())
        self.display_meter = FPSMeter(clock=clock)
        self.analysis_meter = FPSMeter(clock=clock)
        self.history: deque[tuple[float, str]] = deque(maxlen=4000)
        self.paused = False
        self.show_help = False
        self.status = ""
        self._writer = None
        self._snapshots: list[Path] = []
        self._latency_ms: list[float] = []
        self._faces_layer = FaceLayer()
        self._header = HeaderLayer()
        self._strip = MoodStripLayer(60.0)
        self._banner = BannerLayer()
        self._help = HelpLayer()
        self._lock = threading.Lock()
        self._latest = Faces.empty()
        self.analysed = 0
        self.displayed = 0
        self.layout: list[tuple[str, tuple[int, int, int, int]]] = []  # where the last render put each layer

    # ------------------------------------------------------------ shared steps
    def _analyse(self, frame: Frame) -> Faces:
        faces = self.pipeline.step(frame.image, frame.index, frame.t)
        self.analysis_meter.tick()
        self.recorder.record(faces)
        primary = faces.primary_face()
        if primary is not None and primary.mood is not None:
            if not self.history or self.history[-1][1] != primary.mood.label:
                self.history.append((faces.t, primary.mood.label))
        if self.carer is not None:
            self.carer.observe(faces)
        for observe in self.observers:
            observe(faces)
        with self._lock:
            self._latest = faces
        self.analysed += 1
        return faces

    def render(self, frame: Frame, faces: Faces) -> np.ndarray:
        """The frame with every layer; labels and bars go where they hide no fixed layer (``layout`` says where)."""
        image = frame.image.copy()
        banner = self.carer.banner(frame.t) if self.carer is not None else None
        fixed = bands(image, banner=bool(banner))
        self._faces_layer.draw(image, faces, avoid=list(fixed.values()))
        self.layout = [*fixed.items(), *self._faces_layer.drawn]
        status = self.status or ("paused" if self.paused else "")
        if self.carer is not None and self.carer.muted:
            status = (status + " | " if status else "") + "muted"
        self._header.draw(image, HeaderInfo(self.display_meter.fps, self.analysis_meter.fps,
                                             faces.engine or self.pipeline.engine.name, self.options.source_label, status))
        self._strip.draw(image, list(self.history), frame.t)
        if banner:
            self._banner.draw(image, banner[0], fallback=banner[1])
        if self.show_help:
            self._help.draw(image)
        return image

    def _output(self, image: np.ndarray, frame: Frame, window) -> str | None:
        """Record and show a rendered frame; the reason to stop, if any."""
        self.display_meter.tick()
        self.displayed += 1
        if self.options.record is not None:
            self._record(image)
        if window is None:
            return None
        key = window.show(image)
        if window.closed_by_user:
            return "window closed"
        if key is None:
            return None
        if key in window_mod.KEY_QUIT:
            return "quit"
        if key == window_mod.KEY_PAUSE:
            self.paused = not self.paused
        elif key in window_mod.KEY_MUTE and self.carer is not None:
            self.carer.muted = not self.carer.muted
        elif key in window_mod.KEY_SNAPSHOT:
            self._snapshot(image, frame)
        elif key in window_mod.KEY_HELP:
            self.show_help = not self.show_help
        return None

    def _record(self, image: np.ndarray) -> None:
        import cv2

        if self._writer is None:
            self.options.record.parent.mkdir(parents=True, exist_ok=True)
            h, w = image.shape[:2]
            self._writer = cv2.VideoWriter(str(self.options.record), cv2.VideoWriter_fourcc(*"mp4v"),
                                           self.options.fps, (w, h))
            if not self._writer.isOpened():
                log.warning("%s: cannot write video; recording is off", self.options.record)
                self.options = WatchOptions(**{**self.options.__dict__, "record": None})
                return
        self._writer.write(image)

    def _snapshot(self, image: np.ndarray, frame: Frame) -> None:
        import cv2

        folder = self.options.snapshot_dir or Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"emocare-{datetime.now():%Y%m%d-%H%M%S}-{frame.index:06d}.png"
        if cv2.imwrite(str(path), image):
            self._snapshots.append(path)
            self.journal.write("snapshot", frame.t, path=str(path))

    def _open_window(self):
        if not self.options.show_window:
            return None
        ok, why = window_mod.available()
        if not ok:
            log.warning("%s: running without a window (use --no-window to silence this)", why)
            return None
        return self._window_factory()

    def _finish(self, reason: str, t: float, wall_s: float) -> WatchResult:
        if self._writer is not None:
            self._writer.release()
        summary = self.recorder.summary()
        self.journal.write("end", t, reason=reason, summary=summary)
        return WatchResult(reason=reason, summary=summary, snapshots=list(self._snapshots),
                           latency_ms=list(self._latency_ms), analysed_frames=self.analysed,
                           displayed_frames=self.displayed, wall_s=wall_s)

    # ------------------------------------------------------------ --fast over a file
    def run_frames(self, frames: Iterable[Frame]) -> WatchResult:
        started = self.clock()
        reason, t = "end of source", 0.0
        win = self._open_window()
        try:
            if win is not None:
                win.__enter__()
            for frame in frames:
                t = frame.t
                if self.paused and win is not None:
                    stop = self._output(self.render(frame, self._latest), frame, win)
                    while self.paused and stop is None:
                        stop = self._output(self.render(frame, self._latest), frame, win)
                        time.sleep(0.03)
                    if stop:
                        reason = stop
                        break
                faces = self._analyse(frame)
                self._latency_ms.append(faces.ms)
                if self.journal.error:
                    reason = "journal write failed"
                    break
                stop = self._output(self.render(frame, faces), frame, win) if (win is not None or self.options.record) else None
                if stop:
                    reason = stop
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            if win is not None:
                win.close()
        return self._finish(reason, t, self.clock() - started)

    # ------------------------------------------------------------ live: newest frame wins
    def run_live(self, source: LiveSource) -> WatchResult:
        started = self.clock()
        stop = threading.Event()
        errors: list[BaseException] = []
        last_t = [0.0]

        def analysis_loop() -> None:
            last = -1
            try:
                while not stop.is_set():
                    frame = source.read(after=last, timeout=0.1)
                    if frame is None:
                        if source.ended:
                            break
                        continue
                    last = frame.index
                    last_t[0] = frame.t
                    if self.paused:
                        continue
                    began = self.clock()
                    self._analyse(frame)
                    self._latency_ms.append((self.clock() - began) * 1000.0)
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        worker = threading.Thread(target=analysis_loop, name="analysis", daemon=True)
        reason = "end of source"
        win = self._open_window()
        try:
            if win is not None:
                win.__enter__()
            worker.start()
            shown = -1
            while True:
                if errors:
                    raise errors[0]
                if self.journal.error:
                    reason = "journal write failed"
                    break
                self.status = source.status
                frame = source.read(after=shown, timeout=0.05)
                if frame is None:
                    if source.ended and not worker.is_alive():
                        break
                    if win is not None and self._latest is not None and shown >= 0:
                        key_stop = self._poll_window(win)
                        if key_stop:
                            reason = key_stop
                            break
                    continue
                shown = frame.index
                with self._lock:
                    faces = self._latest
                if win is None and self.options.record is None:
                    self.display_meter.tick()
                    continue
                stop_reason = self._output(self.render(frame, faces), frame, win)
                if stop_reason:
                    reason = stop_reason
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            stop.set()
            source.close()
            worker.join(timeout=10)
            if win is not None:
                win.close()
        if reason == "end of source" and source.error:
            reason = "source lost"
            self.journal.write("error", last_t[0], message=source.error)
        return self._finish(reason, last_t[0], self.clock() - started)

    def _poll_window(self, win) -> str | None:
        import cv2

        key = cv2.waitKey(1)
        if win.closed_by_user:
            return "window closed"
        if key >= 0 and (key & 0xFF) in window_mod.KEY_QUIT:
            return "quit"
        return None
