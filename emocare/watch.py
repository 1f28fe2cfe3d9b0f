"""``emocare watch`` as a library call: ``run(settings, request, sinks) -> WatchRun``.

Opens the source first (a wrong camera or file fails before the slow engine
load), then the engine, the journal, the carer and the caller's sinks, all
in one ``ExitStack``: whatever was opened is closed again, in reverse
order, however the run ends. The CLI only parses, calls and prints.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol, Sequence

from emocare import journal as journal_mod
from emocare.errors import ConfigError, WindowUnavailable
from emocare.live import Display, Session, WatchOptions, WatchResult
from emocare.records import Record, StartRecord


class Sink(Protocol):
    """Something that follows a run as it goes (the terminal status line): a context manager with two callbacks.

    A sink that is also a ``live.Display`` (``emocare serve``'s page) gets the rendered frames and may send
    pause, mute and snapshot, as the window's keys do.
    """

    def __enter__(self): ...

    def __exit__(self, *exc) -> None: ...

    def on_faces(self, faces) -> None: ...

    def on_record(self, record: dict) -> None: ...


@dataclass(frozen=True)
class WatchRequest:
    source: str | None = None  # a video file or stream URL; None: the camera ``settings.camera``
    fast: bool = False  # a file analysed frame by frame, as fast as possible
    show_window: bool = True
    record: Path | None = None
    journal: Path | None = None  # None: a timestamped file in the user data dir
    snapshot_dir: Path | None = None
    stats: bool = False  # the display and analysis rates in the window's header (watch --stats)


@dataclass
class WatchRun:
    result: WatchResult
    label: str  # what was watched
    journal: Path
    records: list[Record] = field(default_factory=list)  # this run's journal lines (read back)
    journal_error: str | None = None


def label_of(request: WatchRequest, settings) -> str:
    """What is watched, as shown and journalled: a stream URL without its password, a file name as UTF-8 text."""
    from emocare.sources import shown

    return shown(request.source) if request.source is not None else f"camera {settings.camera}"


def open_source(settings, request: WatchRequest):
    """``(LiveSource or None, fps)``: a live source (camera, stream, file at its own rate) or, for ``fast``, the
    file's frame rate only (its frames are read later, in order)."""
    from emocare import sources
    from emocare.images import is_photo

    is_file = request.source is not None and not sources.is_stream_url(request.source)
    if is_file and is_photo(request.source):  # one frame: no mood can form, and no person is confirmed
        raise ConfigError(f"--source {request.source}: a photo, not a video (its faces and emotions: "
                          f"'emocare analyze {request.source}')")
    if request.fast and not is_file:
        raise ConfigError("--fast needs a video file (--source PATH)")
    if request.fast:
        cap = sources.open_capture(request.source)
        fps = sources.video_info(cap).fps
        cap.release()
        return None, fps
    live = sources.open_live(request.source, settings.camera, settings.frame_size(),
                             reconnect_timeout_s=settings.reconnect_timeout_s, timeout_s=settings.stream_timeout_s)
    return live, live.fps


def check_window() -> None:
    """``WindowUnavailable`` (one line, with the fix) before anything opens, when a window is wanted, a display is
    there, and the OpenCV Python loads is a headless build (it would fail on the first frame, with a traceback)."""
    from emocare import window

    if window.available()[0]:
        problem = window.gui_missing()
        if problem is not None:
            raise WindowUnavailable(problem)


def run(settings, request: WatchRequest, sinks: Sequence[Sink] = (), *,
        build_engine: Callable | None = None, on_journal: Callable[[Path], None] = lambda path: None,
        window_factory: Callable[[], object] | None = None) -> WatchRun:
    """Watch until the source ends, the user quits, the source is lost, or Ctrl-C; the journal is always ended."""
    from emocare import engines, sources
    from emocare.care import build_carer
    from emocare.pipeline import Pipeline
    from emocare.settings import as_dict

    label = label_of(request, settings)
    if request.show_window and window_factory is None:
        check_window()
    path = request.journal or journal_mod.default_journal_path()
    with contextlib.ExitStack() as stack:
        live_source, fps = open_source(settings, request)
        if live_source is not None:
            stack.callback(live_source.close)  # released even if the engine or the journal fails next
        engine = (build_engine or engines.build_from_settings)(settings)
        stack.callback(engine.close)
        journal = stack.enter_context(journal_mod.Journal(path, fresh=request.journal is None))
        path = journal.path  # a default name another session took meanwhile: this one's is the next
        on_journal(path)
        pipeline = Pipeline.from_settings(engine, settings)
        config = as_dict(settings)
        config["negative_threshold"] = pipeline.smoother.params.negative_threshold  # "auto" as it resolved
        for sink in sinks:  # before the start line, so a sink (the web page's events) sees the session begin
            stack.enter_context(sink)
            journal.record_sinks.append(sink.on_record)
        journal.write(StartRecord(t=0.0, source=label, engine=engine.name, detector=settings.detector,
                                  mode="fast" if request.fast else "live", config=config,
                                  started=datetime.now().isoformat(timespec="seconds")))
        carer = build_carer(settings, journal)
        stack.callback(carer.close)
        options = WatchOptions(source_label=label, show_window=request.show_window, record=request.record,
                               snapshot_dir=request.snapshot_dir, fps=fps, stats=request.stats)
        session = Session(pipeline, journal, options, carer=carer,
                          face_sinks=[sink.on_faces for sink in sinks], window_factory=window_factory,
                          displays=[sink for sink in sinks if isinstance(sink, Display)])
        if request.fast:
            result = session.run_frames(sources.iter_video(request.source))
        else:
            with live_source:  # capture (and a file's clock) starts now, not during the engine load
                result = session.run_live(live_source)
    if result.reason == "journal write failed":
        return WatchRun(result, label, path, journal_error=str(journal.error))
    records = journal_mod.sessions(journal_mod.read(path))[-1]  # this run's lines, even in a reused journal
    return WatchRun(result, label, path, records)
