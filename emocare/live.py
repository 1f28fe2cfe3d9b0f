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

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Iterable, Protocol, runtime_checkable

import numpy as np

from emocare.exits import Exit
from emocare.faces import Faces
from emocare.journal import Journal, MoodRecorder
from emocare.overlay import (BannerLayer, FaceLayer, Fonts, HeaderInfo, HeaderLayer, HelpLayer, MoodStripLayer, PanelLayer,
                             Layout, face_numbers, fit_frame, mood_of, overlaps, plan, unit, window_size)
from emocare.pipeline import Pipeline
from emocare.records import EndRecord, ErrorRecord
from emocare.sources import Frame, LiveSource
from emocare import window as window_mod
from emocare.sinks import SnapshotSink, VideoSink

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
        from emocare.timing import percentile

        analysis_fps = self.analysed_frames / self.wall_s if self.wall_s > 0 else 0.0
        display_fps = self.displayed_frames / self.wall_s if self.wall_s > 0 else 0.0
        # latency: engine time per analysed frame (fast mode) or capture-to-result (live)
        display = f"display {display_fps:.1f} fps" if self.displayed_frames else "display off (headless)"
        return (f"stats: {display}, analysis {analysis_fps:.1f} fps "
                f"({self.analysed_frames} frames in {self.wall_s:.1f} s), analysis latency "
                f"p50 {percentile(self.latency_ms, 50):.1f} ms, p95 {percentile(self.latency_ms, 95):.1f} ms")


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
                 observers: Sequence[Callable[[Faces], None]], meter: FPSMeter):
        self.pipeline = pipeline
        self.recorder = MoodRecorder(journal)
        self.carer = carer
        self.observers = list(observers)  # e.g. the terminal status line
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
        for observe in self.observers:
            observe(faces)
        self.count += 1
        return faces


@dataclass(frozen=True)
class Hud:
    """Everything drawn besides the faces."""

    display_fps: float
    analysis_fps: float
    engine: str
    source: str
    status: str
    history: tuple[tuple[float, str], ...]
    banner: tuple[str, str] | None
    show_help: bool
    stats: bool = False  # the rates in the header (watch --stats)


def negative_in_view(faces: Faces) -> bool:
    """Whether anyone in view is, steadily, in a negative mood (what the comfort banner is for)."""
    return any(f.mood is not None and f.mood.valence == "negative" for f in faces)


class BannerFade:
    """The comfort banner is withdrawn once nobody in view is negative any more.

    ``opacity(t, text, negative)`` is 1 while someone is negative, then
    falls to 0 over ``fade_s`` seconds of media time once nobody is, and
    that message stays withdrawn (a new message starts afresh). Someone
    turning negative again before it has faded brings it back.
    """

    def __init__(self, fade_s: float = 1.0):
        self.fade_s = fade_s
        self._text: str | None = None
        self._calm_since: float | None = None
        self._gone = False

    def opacity(self, t: float, text: str | None, negative: bool) -> float:
        if text != self._text:
            self._text, self._calm_since, self._gone = text, None, False
        if text is None or self._gone:
            return 0.0
        if negative:
            self._calm_since = None
            return 1.0
        if self._calm_since is None:
            self._calm_since = t
        left = 1.0 - (t - self._calm_since) / self.fade_s
        if left <= 0:
            self._gone = True
            return 0.0
        return min(1.0, left)


class Renderer:
    """The layers' styles; ``render`` draws a canvas and records where each layer went (``layout``).

    The canvas is ``size`` (the window's, or ``overlay.window_size`` of the
    frame): header, the frame fitted into the stage, the panel of cards,
    the footer with the mood strip. Over the stage go the face boxes, the
    banner (at the bottom, or the top when the bottom would cover the
    person) and the help box, which never covers the banner.
    """

    def __init__(self, fonts: Fonts | None = None, fade: BannerFade | None = None):
        self.fonts = fonts or Fonts()
        self.faces = FaceLayer(self.fonts)
        self.video_faces = FaceLayer(self.fonts)  # for ``video``: its own record of where things went
        self.panel = PanelLayer(self.fonts)
        self.header = HeaderLayer(self.fonts)
        self.strip = MoodStripLayer(60.0, self.fonts)
        self.banner = BannerLayer(fonts=self.fonts)
        self.help = HelpLayer(self.fonts)
        self.fade = fade or BannerFade()
        self.layout: list[tuple[str, tuple[int, int, int, int]]] = []

    def render(self, image: np.ndarray, t: float, faces: Faces, hud: Hud,
               size: tuple[int, int] | None = None) -> np.ndarray:
        h, w = image.shape[:2]
        W, H = size or window_size((w, h))
        lay = plan((W, H), (w, h))
        canvas = np.empty((H, W, 3), np.uint8)
        fit_frame(canvas, image, lay)
        self.layout = [("header", lay.header), ("stage", lay.stage), ("frame", lay.frame), ("panel", lay.panel),
                       ("footer", lay.footer)]
        over: list[tuple[str, tuple[int, int, int, int]]] = []
        opacity = self.fade.opacity(t, hud.banner[0] if hud.banner else None, negative_in_view(faces))
        if hud.banner and opacity > 0:
            text = self.banner.text_for(*hud.banner)
            boxes = [lay.to_canvas(f.box) for f in faces]
            spots = [self.banner.rect(text, lay.frame, lay.u, at) for at in ("bottom", "top")]
            spot = min(spots, key=lambda r: sum(_area(r, b) for b in boxes))  # the bottom unless it hides more of a face
            over.append(("banner", spot))
        if hud.show_help:
            hw, hh = self.help.size(lay.u)
            pad = max(8, round(12 * lay.u))
            sx0, sy0, sx1, sy1 = lay.frame
            candidates = [(sx0 + pad, sy0 + pad, sx0 + pad + hw, sy0 + pad + hh),
                          (sx0 + pad, sy1 - pad - hh, sx0 + pad + hw, sy1 - pad),
                          (lay.panel[0] + pad, lay.panel[1] + pad, lay.panel[0] + pad + hw, lay.panel[1] + pad + hh)]
            taken = [r for _, r in over]
            spot = next((r for r in candidates if not any(overlaps(r, o) for o in taken)), candidates[-1])
            over.append(("help", spot))
        texts = self.faces.draw(canvas, faces, lay, avoid=[r for _, r in over])
        texts += self.panel.draw(canvas, list(faces), lay.panel, lay.u)
        texts += self.header.draw(canvas, lay.header, self._header_info(faces, t, hud), lay.u)
        texts += self.strip.draw(canvas, lay.footer, list(hud.history), t, lay.u)
        self.fonts.draw(canvas, texts)  # the banner and the help go over all of it
        for name, rect in over:
            if name == "banner":
                self.banner.draw(canvas, hud.banner[0], fallback=hud.banner[1], rect=rect, opacity=opacity, u=lay.u)
            else:
                self.fonts.draw(canvas, self.help.draw(canvas, rect, lay.u))
        self.layout += [*self.faces.drawn, *self.panel.drawn, *over]
        self.opacity = opacity
        return canvas

    def video(self, image: np.ndarray, faces: Faces, width: int | None = None) -> np.ndarray:
        """The frame alone (at most ``width`` wide, never enlarged) with each face's box and number chip: what a
        ``Display`` shows, a few milliseconds where a canvas takes tens."""
        import cv2

        h, w = image.shape[:2]
        if width and w > width:
            frame = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
        else:
            frame = image.copy()
        H, W = frame.shape[:2]
        lay = Layout(size=(W, H), u=unit(W, H), header=(0, 0, W, 0), stage=(0, 0, W, H), frame=(0, 0, W, H),
                     panel=(W, 0, W, H), footer=(0, H, W, H), scale=W / w)
        self.fonts.draw(frame, self.video_faces.draw(frame, faces, lay))
        return frame

    def _header_info(self, faces: Faces, t: float, hud: Hud) -> HeaderInfo:
        primary = faces.primary_face()
        if primary is None and len(faces) == 1:
            primary = faces.faces[0]
        stats = f"display {hud.display_fps:.1f} fps · analysis {hud.analysis_fps:.1f} fps" if hud.stats else ""
        if primary is None:
            return HeaderInfo(status=hud.status, stats=stats)
        number = face_numbers(list(faces))[list(faces).index(primary)]
        mood, _, _ = mood_of(primary)
        since = primary.mood.since if primary.mood is not None else None
        return HeaderInfo(person=number, mood=mood, for_s=None if since is None else max(0.0, t - since),
                          status=hud.status, stats=stats)


def _area(a, b) -> int:
    """The area ``a`` and ``b`` share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


class Session:
    """``watch``'s loops over the parts above: analysis, shared state, renderer, sinks, window keys."""

    def __init__(self, pipeline: Pipeline, journal: Journal, options: WatchOptions, *,
                 carer: Carer | None = None, clock: Callable[[], float] = time.monotonic,
                 window_factory: Callable[[], object] | None = None,
                 observers: Sequence[Callable[[Faces], None]] = (), displays: Sequence[Display] = ()):
        self.pipeline = pipeline
        self.journal = journal
        self.options = options
        self.carer = carer
        self.clock = clock
        self._window_factory = window_factory or (lambda: window_mod.Window())
        self.display_meter = FPSMeter(clock=clock)
        self.analysis = Analysis(pipeline, journal, carer, observers, FPSMeter(clock=clock))
        self.shared = Shared()
        self.renderer = Renderer()
        self.show_help = False
        self.status = ""
        self.displayed = 0
        self.displays = list(displays)

    @property
    def history(self) -> deque[tuple[float, str]]:
        return self.analysis.history

    @property
    def layout(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        return self.renderer.layout

    def hud(self, t: float, faces: Faces) -> Hud:
        status = self.status or ("paused" if self.shared.paused else "")
        if self.carer is not None and self.carer.muted:
            status = (status + " | " if status else "") + "muted"
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
        shown = -1
        while True:
            if errors:
                raise errors[0]
            if self.journal.error:
                return "journal write failed"
            self.status = source.status
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
            stop = self._output(frame, self.shared.latest(), win, sinks)
            if stop:
                return stop


@dataclass
class _Sinks:
    video: VideoSink
    snapshots: SnapshotSink
