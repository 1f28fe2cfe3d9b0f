"""Capture: still images, video files, cameras and streams, as ``Frame`` values.

Two explicit policies (imutils' lesson): a file processed with ``--fast``
yields every frame (``iter_video``); a live source (camera, stream, or a file
played at its own rate) runs a reader thread that keeps only the newest frame
(``LiveSource``), so display never lags behind capture.

This module holds the live policy (``LiveSource``, ``open_live``) and
re-exports the rest, each in a module named after it: ``names`` (what a
name tells, how it is shown), ``images`` (still images), ``capture``
(``Frame``, opening cameras, streams and files) and ``video`` (a file's
every frame).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from emocare.capture import Frame, VideoInfo, list_cameras, open_capture, video_info  # noqa: F401  (re-exported)
from emocare.errors import SourceError
from emocare.images import expand_paths, load_image  # noqa: F401
from emocare.names import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_still_image, is_stream_url,  # noqa: F401
                           not_a_file, opencv_path, redact, shown)
from emocare.settings import DEFAULTS
from emocare.video import VideoFrames, cut_short, iter_video, media_time  # noqa: F401
from emocare.words import Words

_ENGLISH = Words("en")  # the status line's English (logs, the terminal) is the window's English words

log = logging.getLogger(__name__)


class LiveSource:
    """A reader thread that keeps only the newest frame.

    Works for cameras, streams and video files played at their own rate
    (``pace=True``). When reading fails mid-way it reconnects with
    exponential backoff (reported through ``status``) and gives up after
    ``reconnect_timeout_s``, after which ``read`` reports the end.

    ``opener`` builds the capture (injected so tests can pass a stub that
    starts failing); ``clock`` is the time base for frame stamps and pacing.
    """

    def __init__(self, opener: Callable[[], object], *, name: str, is_file: bool = False,
                 fps: float = 30.0, pace: bool = True, reconnect_timeout_s: float = DEFAULTS.reconnect_timeout_s,
                 clock: Callable[[], float] = time.monotonic):
        self._opener = opener
        self.name = name
        self.is_file = is_file
        self.fps = fps
        self.pace = pace
        self.reconnect_timeout_s = reconnect_timeout_s
        self.clock = clock
        self._cap = opener()  # raises SourceError at once if the first open fails
        self.declared = 0  # a file's frame count, as its header declares it
        self.cut_short: str | None = None  # a file that ended before that count: why (``cut_short``)
        if is_file:
            info = video_info(self._cap)
            self.fps, self.declared = info.fps, info.frame_count  # play a file at its own rate
        self._lock = threading.Lock()
        self._new = threading.Condition(self._lock)
        self._frame: Frame | None = None
        self._stop = threading.Event()
        self._held = threading.Event()  # a file paused (``hold``)
        self._ended = False
        # the status line ("" when healthy, else "reconnecting ..." for the overlay) and the same line as the window's
        # words say it (``words.Words``: its key and values; None: said no other way), written and read as one pair
        self.line: tuple[str, tuple[str, dict[str, str]] | None] = ("", None)
        self.error: str | None = None  # why the source ended, when it did not end normally
        self._thread = threading.Thread(target=self._run, name=f"capture:{name}", daemon=True)

    @property
    def status(self) -> str:
        """The status line in English ("" when healthy)."""
        return self.line[0]

    @property
    def said(self) -> tuple[str, dict[str, str]] | None:
        """The status line as the window's words say it, or None."""
        return self.line[1]

    def _say(self, key: str, **values: str) -> None:
        """Set the status line: the window's words ``key`` with ``values``, in English and as the pair's words."""
        self.line = (_ENGLISH(key, **values), (key, values))

    def __enter__(self) -> "LiveSource":
        self._t0 = self.clock()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with self._new:
            self._new.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def hold(self, on: bool) -> None:
        """Pause (``True``) or resume a file played at its own rate: it goes on where it stopped. A camera or a
        stream cannot be paused; its frames go on arriving (the caller stops showing them)."""
        if on:
            self._held.set()
        else:
            self._held.clear()

    def _wait_while_held(self) -> float:
        """Block while a file is held; the seconds it was, so its pacing resumes where it stopped."""
        if not (self.is_file and self._held.is_set()):
            return 0.0
        began = self.clock()
        while self._held.is_set() and not self._stop.is_set():
            self._stop.wait(0.02)
        return self.clock() - began

    @property
    def ended(self) -> bool:
        """The reader has stopped; ``read`` still returns the last frame to a caller that has not seen it."""
        with self._lock:
            return self._ended

    def read(self, after: int = -1, timeout: float = 0.05) -> Frame | None:
        """The newest frame with index > ``after``, waiting up to ``timeout`` s."""
        with self._new:
            if self._frame is None or self._frame.index <= after:
                self._new.wait(timeout)
            frame = self._frame
        if frame is None or frame.index <= after:
            return None
        return frame

    def _publish(self, image: np.ndarray, index: int, t: float) -> None:
        with self._new:
            self._frame = Frame(image=image, index=index, t=t)
            self._new.notify_all()

    def _run(self) -> None:
        index = 0
        period = 1.0 / self.fps if self.fps > 0 else 0.0
        next_due = self.clock()
        t = None
        try:
            while not self._stop.is_set():
                next_due += self._wait_while_held()
                try:
                    ok, image = self._cap.read()
                except Exception as exc:  # a broken driver/stub may raise instead of returning False
                    log.warning("%s: read failed: %s", self.name, exc)
                    ok, image = False, None
                if not ok or image is None:
                    if self.is_file:  # end of file, or of what a damaged file lets be read
                        self.cut_short = cut_short(self.name, index, self.declared)
                        break
                    if not self._reconnect():
                        break
                    continue
                if self.is_file:
                    t = media_time(self._cap, index, self.fps, t)
                    if self.pace:  # shown at its own time: a variable frame rate keeps its pauses
                        if index == 0:
                            next_due = self.clock() - t
                        delay = next_due + t - self.clock()
                        if delay > 0:
                            self._stop.wait(delay)
                        elif delay < -0.5:  # this machine fell behind: catch up from here, not in a burst
                            next_due -= delay
                else:
                    t = self.clock() - self._t0
                self._publish(image, index, t)
                index += 1
                if self.pace and period and not self.is_file:
                    next_due += period
                    delay = next_due - self.clock()
                    if delay > 0:
                        self._stop.wait(delay)
                    else:
                        next_due = self.clock()
        finally:
            with self._new:
                self._ended = True
                self._new.notify_all()

    def _reconnect(self) -> bool:
        started = self.clock()
        delay = 0.25
        attempt = 0
        while not self._stop.is_set():
            elapsed = self.clock() - started
            if elapsed >= self.reconnect_timeout_s:
                self._say("lost", name=self.name, limit=f"{self.reconnect_timeout_s:g}")
                self.error = self.status
                log.info("%s", self.error)
                return False
            attempt += 1
            self._say("reconnecting", attempt=str(attempt), elapsed=f"{elapsed:.0f}", limit=f"{self.reconnect_timeout_s:g}")
            log.info("%s: %s", self.name, self.status)  # on the overlay and the status line; stderr stays one line
            if self._cap is not None:
                self._cap.release()
            try:
                self._cap = self._opener()
                ok, image = self._cap.read()
                if ok and image is not None:
                    self.line = ("", None)
                    log.info("%s: reconnected", self.name)
                    return True
            except SourceError:
                pass
            except Exception as exc:  # same reason as in _run
                log.debug("reconnect read failed: %s", exc)
            self._stop.wait(delay)
            delay = min(delay * 2, 2.0)
        return False


def open_live(source: str | None, camera: int = 0, size: tuple[int, int] | None = None, *,
              reconnect_timeout_s: float = DEFAULTS.reconnect_timeout_s, timeout_s: float = DEFAULTS.stream_timeout_s) -> LiveSource:
    """A camera, a stream URL, or a video file played at its own rate; opened now, so errors surface at once."""
    if source is None:
        return LiveSource(lambda: open_capture(camera, size), name=f"camera {camera}", pace=False,
                          reconnect_timeout_s=reconnect_timeout_s)
    is_file = not is_stream_url(source)
    return LiveSource(lambda: open_capture(source, timeout_s=timeout_s), name=shown(source), is_file=is_file, pace=is_file,
                      reconnect_timeout_s=reconnect_timeout_s)
