"""Capture: the ``Frame`` every source yields, and OpenCV captures opened from a camera, a stream URL (with
timeouts), a video file, a pipe or a device, with what a video declares (``video_info``) and the cameras there are."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocare.errors import SourceError
from emocare.names import is_stream_url, not_a_file, opencv_path, redact, shown
from emocare.settings import DEFAULTS


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray  # BGR uint8, HxWx3
    index: int  # sequence number from the source, strictly increasing
    t: float  # seconds: media time for files, the injected clock for live sources


def _cv2():
    import cv2

    return cv2


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int


def _open_in_thread(target: str, timeout_s: float, name: str, *args):
    """``cv2.VideoCapture(target, *args)`` on a helper thread (OpenCV releases the GIL while it blocks), so the
    main thread stays interruptible; None when it has not opened within ``timeout_s`` plus a second of grace, even
    if FFmpeg ignores its own timeout (the helper is left behind, blocked, and ends with the process)."""
    cv2 = _cv2()
    box: dict = {}

    def opener() -> None:
        box["cap"] = cv2.VideoCapture(target, *args)

    worker = threading.Thread(target=opener, name=f"open:{name}", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s + 1.0
    while worker.is_alive() and time.monotonic() < deadline:
        worker.join(0.05)
    return None if worker.is_alive() else box.get("cap")


def _open_stream(url: str, timeout_s: float):
    """``cv2.VideoCapture`` of a stream URL with open/read timeouts; Ctrl-C is not held up by a silent server."""
    cv2 = _cv2()
    ms = int(max(0.1, timeout_s) * 1000)
    name = redact(url)
    cap = _open_in_thread(url, timeout_s, name, cv2.CAP_FFMPEG,
                          [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    if cap is None:
        raise SourceError(f"{name}: no answer within {timeout_s:g} s (--stream-timeout)")
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"{name}: cannot be opened as a stream (no answer within {timeout_s:g} s, or not a video)")
    return cap


def open_capture(source: str | int, size: tuple[int, int] | None = None, *, timeout_s: float = DEFAULTS.stream_timeout_s):
    """An opened ``cv2.VideoCapture`` or ``SourceError`` naming the source."""
    cv2 = _cv2()
    if isinstance(source, int):
        backend = {"linux": cv2.CAP_V4L2, "win32": cv2.CAP_DSHOW, "darwin": cv2.CAP_AVFOUNDATION}.get(sys.platform, cv2.CAP_ANY)
        cap = cv2.VideoCapture(source, backend)
        if not cap.isOpened():
            cap.release()
            cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"camera {source}: cannot be opened (no such device or it is busy); "
                "list cameras with 'emocare watch --list-cameras' and pick one with --camera N"
            )
        if size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        return cap
    if is_stream_url(source):
        return _open_stream(source, timeout_s)
    p = Path(source)
    name = shown(source)
    why = not_a_file(p, "a video")
    if why is not None and not why.startswith(("a named pipe", "a device")):
        raise SourceError(f"{name}: {why}" + (", not a video" if why == "is a folder" else ""))
    if not os.access(p, os.R_OK):
        raise SourceError(f"{name}: permission denied")
    if why is not None:  # a pipe or a device may never answer: opened where Ctrl-C and --stream-timeout still work
        cap = _open_in_thread(opencv_path(p), timeout_s, name)
        if cap is None:
            raise SourceError(f"{name}: {why}, and nothing came from it within {timeout_s:g} s (--stream-timeout)")
    else:
        cap = cv2.VideoCapture(opencv_path(p))
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"{name}: " + ("empty file" if why is None and _size(p) == 0 else "cannot be opened as a video"))
    return cap


def _size(path: Path) -> int | None:
    """The file's size, or None when it cannot be read (gone since)."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def video_info(cap) -> VideoInfo:
    cv2 = _cv2()
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not (0 < fps < 1000):
        fps = 30.0
    return VideoInfo(
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        fps=fps,
        frame_count=max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))),
    )


def list_cameras(max_index: int = 10) -> list[tuple[int, str]]:
    """(index, description) of the cameras that open, probing 0..max_index-1."""
    cv2 = _cv2()
    found = []
    previous = os.environ.get("OPENCV_LOG_LEVEL")
    os.environ["OPENCV_LOG_LEVEL"] = "OFF"
    try:
        for i in range(max_index):
            if sys.platform == "linux" and not Path(f"/dev/video{i}").exists():
                continue
            cap = cv2.VideoCapture(i)
            if cap.isOpened():
                w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
                name = Path(f"/sys/class/video4linux/video{i}/name")
                label = name.read_text().strip() if name.exists() else "camera"
                found.append((i, f"{label} ({w}x{h})"))
            cap.release()
    finally:
        if previous is None:
            os.environ.pop("OPENCV_LOG_LEVEL", None)
        else:
            os.environ["OPENCV_LOG_LEVEL"] = previous
    return found
