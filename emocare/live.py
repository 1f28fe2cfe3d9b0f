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

The analysis step and what its thread shares live in ``analysis``, the
drawing of a frame in ``render``; both are re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Iterable, Protocol, runtime_checkable

import numpy as np

from emocare.analysis import Analysis, Carer, FPSMeter, Shared
from emocare.exits import Exit
from emocare.faces import Faces
from emocare.journal import Journal
from emocare.pipeline import Pipeline
from emocare.records import EndRecord, ErrorRecord
from emocare.render import BannerFade, Hud, Renderer, negative_in_view  # noqa: F401  (BannerFade, Hud: re-exported)
from emocare.sources import Frame, LiveSource
from emocare import window as window_mod
from emocare.sinks import SnapshotSink, VideoSink

log = logging.getLogger(__name__)


@runtime_checkable
class Display(Protocol):
    """A viewer of the rendered frames besides the window (``emocare serve``'s page).

    ``wants_frames``: whether anyone looks (frames are drawn for it only then); ``max_width``: the widest
    frame it wants (drawn that size, never larger than the source); ``show`` takes each frame with its faces'
    boxes (``Renderer.video``: the page draws the moods, scores and banner itself), the comfort banner while it
    shows (None once withdrawn) and its opacity (the window's ``BannerFade``: 1, then falling to 0 once nobody
    in view is negative); ``commands`` hands over what was asked since the last call (pause, mute, snapshot);
    ``state`` is told the paused and muted flags after commands ran.
    """

    max_width: int

    @property
    def wants_frames(self) -> bool: ...

    def show(self, image: np.ndarray, t: float, banner: tuple[str, str] | None, opacity: float = 1.0) -> None: ...

    def commands(self) -> list[str]: ...

    def state(self, *, paused: bool, muted: bool) -> None: ...


@dataclass(frozen=True)
class WatchOptions:
    source_label: str
    show_window: bool = True
    record: Path | None = None
    snapshot_dir: Path | None = None
    fps: float = 30.0
    stats: bool = False  # the display and analysis rates in the window's header
    lang: str = ""  # the window's language ("en", "zh"); "": the carer's (the comfort's), else English


@dataclass
class WatchResult:
    reason: str  # "end of source", "quit", "window closed", "interrupted", "source lost", "journal write failed"
    summary: dict
    snapshots: list[Path] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    analysed_frames: int = 0
    displayed_frames: int = 0
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)  # a file cut short, a recording not written: one line each

    @property
    def exit_code(self) -> Exit:
        return {"interrupted": Exit.INTERRUPTED, "source lost": Exit.SOURCE, "journal write failed": Exit.FAILED,
                "video cut short": Exit.FAILED, "recording failed": Exit.FAILED}.get(self.reason, Exit.OK)

    def stats_text(self) -> str:
        """``watch --stats``: display and analysis rates, analysis latency percentiles (``timing.percentile``)."""
        return "".join(self.stats_phrases())

    def stats_phrases(self) -> list[str]:
        """``stats_text`` in the phrases a terminal may break it between (never inside one)."""
        from emocare.timing import percentile

        analysis_fps = self.analysed_frames / self.wall_s if self.wall_s > 0 else 0.0
        display_fps = self.displayed_frames / self.wall_s if self.wall_s > 0 else 0.0
        # latency: engine time per analysed frame (fast mode) or capture-to-result (live)
        display = f"display {display_fps:.1f} fps" if self.displayed_frames else "display off (headless)"
        return [f"stats: {display}, ", f"analysis {analysis_fps:.1f} fps ",
                f"({self.analysed_frames} frames in {self.wall_s:.1f} s), ",
                f"analysis latency p50 {percentile(self.latency_ms, 50):.1f} ms, ",
                f"p95 {percentile(self.latency_ms, 95):.1f} ms"]


class Session:
    """``watch``'s loops over the parts above: analysis, shared state, renderer, sinks, window keys."""

    def __init__(self, pipeline: Pipeline, journal: Journal, options: WatchOptions, *,
                 carer: Carer | None = None, clock: Callable[[], float] = time.monotonic,
                 window_factory: Callable[[], object] | None = None,
                 face_sinks: Sequence[Callable[[Faces], None]] = (), displays: Sequence[Display] = ()):
        self.pipeline = pipeline
        self.journal = journal
        self.options = options
        self.carer = carer
        self.clock = clock
        self._window_factory = window_factory or (lambda: window_mod.Window())
        self.display_meter = FPSMeter(clock=clock)
        self.analysis = Analysis(pipeline, journal, carer, face_sinks, FPSMeter(clock=clock))
        self.shared = Shared()
        self.renderer = Renderer(lang=options.lang or getattr(carer, "lang", None) or "en")
        self.show_help = False
        self.status = ""
        self.said: tuple[str, dict[str, str]] | None = None  # the source's status line as the words say it
        self.displayed = 0
        self.displays = list(displays)

    @property
    def history(self) -> deque[tuple[float, str]]:
        return self.analysis.history

    @property
    def layout(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        return self.renderer.layout

    def hud(self, t: float, faces: Faces) -> Hud:
        words = self.renderer.words  # the window's language: the source's status line is said in it too
        status = words.status(self.status, self.said) or (words("paused") if self.shared.paused else "")
        if self.carer is not None and self.carer.muted:
            status = (status + words("status_join") if status else "") + words("muted")
        engine = faces.engine or (self.pipeline.engine.name if self.pipeline is not None else "")
        return Hud(self.display_meter.fps, self.analysis.meter.fps, engine, self.options.source_label, status,
                   tuple(self.history), self.carer.banner(t) if self.carer is not None else None, self.show_help,
                   self.options.stats)

    def render(self, frame: Frame, faces: Faces, size: tuple[int, int] | None = None) -> np.ndarray:
        """The canvas for ``frame``: ``size`` (width, height), or the size a window first opens at."""
        return self.renderer.render(frame.image, frame.t, faces, self.hud(frame.t, faces), size)

    def _analyse(self, frame: Frame) -> Faces:
        faces = self.analysis.step(frame)
        self.shared.publish(faces)
        return faces

    # ------------------------------------------------------------ output and keys
    def _output(self, frame: Frame, faces: Faces, window, sinks: "_Sinks") -> str | None:
        """Render, record and show a frame; the reason to stop, if any.

        The recording keeps the size the window first opens at (a video has
        one size); the window gets a canvas of its own current size, so a
        resized window is drawn afresh, not stretched.
        """
        self.display_meter.tick()
        self.displayed += 1
        image = None
        if sinks.video.active:
            image = self.render(frame, faces)
            sinks.video.write(image)
        if self.displays:
            image = self._to_displays(frame, faces, image)
        stop = self._display_commands(frame, faces, image, sinks)
        if window is None or stop:
            return stop
        size = window.canvas_size() if hasattr(window, "canvas_size") else None
        if image is None or (size is not None and tuple(image.shape[1::-1]) != tuple(size)):
            image = self.render(frame, faces, size)
        key = window.show(image)
        if window.closed_by_user:
            return "window closed"
        return self._command(window_mod.command(key), image, frame, sinks)

    def _command(self, command: str | None, image: np.ndarray | None, frame: Frame | None, sinks: "_Sinks") -> str | None:
        if command == "quit":
            return "quit"
        if command == "pause":
            self.shared.paused = not self.shared.paused
        elif command == "mute" and self.carer is not None:
            self.carer.muted = not self.carer.muted
        elif command == "snapshot" and image is not None and frame is not None:
            sinks.snapshots.save(image, frame.index, frame.t)
        elif command == "help":
            self.show_help = not self.show_help
        return None

    def _displays_want(self) -> bool:
        return any(display.wants_frames for display in self.displays)

    def _to_displays(self, frame: Frame, faces: Faces, image: np.ndarray | None) -> np.ndarray | None:
        """The frame with its faces' boxes, and the comfort banner faded as the window fades it (the renderer's
        own ``BannerFade``), to the displays that want them; ``image``, the canvas if one was drawn, unchanged."""
        if not self._displays_want():
            return image
        video = self.renderer.video(frame.image, faces, min(display.max_width for display in self.displays))
        banner = self.carer.banner(frame.t) if self.carer is not None else None
        opacity = self.renderer.fade.opacity(frame.t, banner[0] if banner else None, negative_in_view(faces))
        for display in self.displays:
            display.show(video, frame.t, banner if opacity > 0 else None, opacity)
        return image

    def _display_commands(self, frame: Frame, faces: Faces, image: np.ndarray | None, sinks: "_Sinks") -> str | None:
        """Run the commands the displays sent, then tell them the paused and muted flags; the reason to stop, if any."""
        ran, stop = False, None
        for display in self.displays:
            for command in display.commands():
                ran = True
                if command == "snapshot" and image is None:
                    image = self.render(frame, faces)
                stop = stop or self._command(command, image, frame, sinks)
        if ran:
            muted = self.carer is not None and self.carer.muted
            for display in self.displays:
                display.state(paused=self.shared.paused, muted=muted)
        return stop

    def _poll(self, window, sinks: "_Sinks") -> str | None:
        """Keys while no new frame has come."""
        key = window.poll()
        if window.closed_by_user:
            return "window closed"
        return self._command(window_mod.command(key), None, None, sinks)

    def _open_window(self):
        if not self.options.show_window:
            return None
        ok, why = window_mod.available()
        if not ok:
            log.warning("%s: running without a window (use --no-window to silence this)", why)
            return None
        return self._window_factory()

    def _open_outputs(self, stack: contextlib.ExitStack) -> tuple["_Sinks", object | None]:
        """The recording, the snapshots and the window (None: headless), closed with ``stack``."""
        sinks = _Sinks(VideoSink(self.options.record, self.options.fps),
                       SnapshotSink(self.options.snapshot_dir or Path("."), self.journal))
        stack.enter_context(sinks.video)
        win = self._open_window()
        if win is not None:
            stack.enter_context(win)
        return sinks, win

    def _finish(self, reason: str, t: float, wall_s: float, sinks: "_Sinks", cut_short: str | None = None) -> WatchResult:
        problems = []  # a video file that ended before its declared frames, a recording that was not written
        for problem, why in ((cut_short, "video cut short"), (getattr(sinks.video, "error", None), "recording failed")):
            if problem:
                problems.append(problem)
                self.journal.write(ErrorRecord(t=t, message=problem))
                if reason in ("end of source", "quit", "window closed"):
                    reason = why
        summary = self.analysis.recorder.summary()
        self.journal.write(EndRecord(t=t, reason=reason, summary=summary))
        return WatchResult(reason=reason, summary=summary, snapshots=list(sinks.snapshots.saved),
                           latency_ms=self.shared.latencies(), analysed_frames=self.analysis.count,
                           displayed_frames=self.displayed, wall_s=wall_s, problems=problems)

    # ------------------------------------------------------------ --fast over a file
    def run_frames(self, frames: Iterable[Frame]) -> WatchResult:
        started = self.clock()
        reason: str | None = None
        t = 0.0
        with contextlib.ExitStack() as stack:
            sinks, win = self._open_outputs(stack)
            try:
                for frame in frames:
                    t = frame.t
                    reason = self._frame(frame, win, sinks)
                    if reason:
                        break
            except KeyboardInterrupt:
                reason = "interrupted"
        return self._finish(reason or "end of source", t, self.clock() - started, sinks,
                            cut_short=getattr(frames, "cut_short", None))

    def _frame(self, frame: Frame, win, sinks: "_Sinks") -> str | None:
        """One frame of ``run_frames``: wait while paused, analyse, show; the reason to stop, if any."""
        while self.shared.paused and (win is not None or self.displays):
            stop = self._output(frame, self.shared.latest(), win, sinks)
            if stop:
                return stop
            time.sleep(0.03)
        faces = self._analyse(frame)
        self.shared.add_latency(faces.ms)
        if self.journal.error:
            return "journal write failed"
        if win is not None or sinks.video.active or self._displays_want():
            return self._output(frame, faces, win, sinks)
        return None

    # ------------------------------------------------------------ live: newest frame wins
    def run_live(self, source: LiveSource) -> WatchResult:
        started = self.clock()
        stop = threading.Event()
        errors: list[BaseException] = []
        worker = threading.Thread(target=self._analysis_loop, args=(source, stop, errors), name="analysis", daemon=True)
        reason = "end of source"
        with contextlib.ExitStack() as stack:
            sinks, win = self._open_outputs(stack)
            stack.callback(lambda: worker.ident is not None and worker.join(timeout=10))
            stack.callback(source.close)
            stack.callback(stop.set)
            try:
                worker.start()
                reason = self._display_loop(source, worker, errors, win, sinks)
            except KeyboardInterrupt:
                reason = "interrupted"
        if reason == "end of source" and source.error:
            reason = "source lost"
            self.journal.write(ErrorRecord(t=self.shared.last_t, message=source.error))
        return self._finish(reason, self.shared.last_t, self.clock() - started, sinks,
                            cut_short=getattr(source, "cut_short", None))

    def _analysis_loop(self, source: LiveSource, stop: threading.Event, errors: list[BaseException]) -> None:
        last = -1
        try:
            while not stop.is_set():
                frame = source.read(after=last, timeout=0.1)
                if frame is None:
                    if source.ended:
                        break
                    continue
                last = frame.index
                self.shared.seen(frame.t)
                if self.shared.paused:
                    continue
                began = self.clock()
                self._analyse(frame)
                self.shared.add_latency((self.clock() - began) * 1000.0)
        except BaseException as exc:  # surfaced in the display loop
            errors.append(exc)

    def _display_loop(self, source: LiveSource, worker: threading.Thread, errors: list[BaseException], win,
                      sinks: "_Sinks") -> str:
        shown, frozen = -1, None
        hold = getattr(source, "hold", None)
        while True:
            if errors:
                raise errors[0]
            if self.journal.error:
                return "journal write failed"
            self.status, self.said = source.line  # one read: the line and its words belong together
            if hold is not None:
                hold(self.shared.paused)  # a file stops where it is; a camera goes on, unseen
            if self.shared.paused and frozen is not None:  # the frame and its faces stay together, as paused
                stop = self._output(frozen, self.shared.latest(), win, sinks)
                if stop:
                    return stop
                time.sleep(0.03)
                continue
            frame = source.read(after=shown, timeout=0.05)
            if frame is None:
                if source.ended and not worker.is_alive():
                    return "end of source"
                stop = self._poll(win, sinks) if win is not None and shown >= 0 else None
                if stop:
                    return stop
                continue
            shown = frame.index
            if win is None and not sinks.video.active and not self._displays_want():
                self.display_meter.tick()
                continue
            frozen = frame
            stop = self._output(frame, self.shared.latest(), win, sinks)
            if stop:
                return stop


@dataclass
class _Sinks:
    video: VideoSink
    snapshots: SnapshotSink
