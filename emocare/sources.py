"""Capture: still images, video files, cameras and streams, as ``Frame`` values.

Two explicit policies (imutils' lesson): a file processed with ``--fast``
yields every frame (``iter_video``); a live source (camera, stream, or a file
played at its own rate) runs a reader thread that keeps only the newest frame
(``LiveSource``), so display never lags behind capture.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from emocare.errors import InputError, SourceError
from emocare.settings import DEFAULTS

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".jfif")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def is_still_image(path: str | os.PathLike) -> bool:
    """A photo by its name (a GIF may move, so it is not one): what ``analyze`` reads and ``watch`` cannot follow."""
    suffix = Path(path).suffix.lower()
    return suffix in IMAGE_EXTENSIONS and suffix != ".gif"


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray  # BGR uint8, HxWx3
    index: int  # sequence number from the source, strictly increasing
    t: float  # seconds: media time for files, the injected clock for live sources


# ---------------------------------------------------------------- still images
def _grey_to_8bit(mode: str, a: np.ndarray) -> np.ndarray:
    """A 16-bit, 32-bit or float grey image in 8 bits (Pillow's own conversion clips everything above 255 to white).

    Whole numbers within 0-65535 are scaled by the smallest bit depth that holds them (8, 10, 12, 14 or 16 bits:
    machine-vision and scientific cameras store 10-14-bit values in 16-bit files); floats within 0-1 by 255;
    floats within 0-255 are kept; anything else is stretched from its minimum to its maximum.
    """
    a = a.astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode != "F" and lo >= 0.0 and hi <= 65535.0:
        top = next(2.0 ** bits - 1 for bits in (8, 10, 12, 14, 16) if hi <= 2.0 ** bits - 1)
        a = a * (255.0 / top)
    elif mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif not (mode == "F" and lo >= 0.0 and hi <= 255.0):
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as BGR uint8, honouring EXIF orientation.

    Grey, 16-bit, palette and RGBA images are converted (transparency is laid
    over white). Images up to Pillow's limit (about 179 MP) are read without
    its warning; larger ones (decompression bombs) are refused. Raises
    ``InputError`` naming the file and the reason.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    name = shown(p)
    why = not_a_file(p, "an image")
    if why is not None:
        raise InputError(f"{name}: {why}", str(p))
    try:
        if p.stat().st_size == 0:
            raise InputError(f"{name}: empty file", str(p))
        with warnings.catch_warnings(record=True) as noted:  # Pillow's EXIF and size warnings: --verbose only
            warnings.simplefilter("always")
            with Image.open(p) as img:
                img = ImageOps.exif_transpose(img)
                if img.mode in ("P", "PA", "LA", "RGBA"):
                    rgba = img.convert("RGBA")
                    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    img = Image.alpha_composite(background, rgba)
                if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit grey: Pillow's convert clips at 255
                    rgb = np.repeat(_grey_to_8bit(img.mode, np.asarray(img))[:, :, None], 3, axis=2)
                else:
                    rgb = np.asarray(img.convert("RGB"))
        for w in noted:
            log.debug("%s: %s", name, w.message)
    except InputError:
        raise
    except Image.DecompressionBombError:
        limit = (Image.MAX_IMAGE_PIXELS or 0) * 2 / 1e6
        raise InputError(f"{name}: image too large to read safely (over {limit:.0f} megapixels)", str(p)) from None
    except PermissionError:
        raise InputError(f"{name}: permission denied", str(p)) from None
    except UnidentifiedImageError:
        if p.suffix.lower() in VIDEO_EXTENSIONS:
            raise InputError(f"{name}: a video, not a photo (follow it with 'emocare watch --source {name}')", str(p)) from None
        raise InputError(f"{name}: not an image (unrecognised format)", str(p)) from None
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise InputError(f"{name}: corrupt or truncated image ({shown(str(exc))})", str(p)) from None
    if rgb.size == 0:
        raise InputError(f"{name}: image has no pixels", str(p))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def expand_paths(paths: Sequence[str | os.PathLike], on_error: Callable[[InputError], None]) -> list[Path]:
    """Files as given, folders walked recursively for image files (sorted).

    A path that does not exist or a folder that cannot be read is reported
    through ``on_error`` and skipped; a file with any extension is kept (it
    will fail later with a precise reason if it is not an image).
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            if not os.access(p, os.R_OK | os.X_OK):
                on_error(InputError(f"{shown(p)}: folder cannot be read (permission denied)", path=str(p)))
                continue
            found: list[Path] = []

            def _walk_error(exc: OSError) -> None:
                on_error(InputError(f"{shown(str(exc.filename))}: folder cannot be read ({exc.strerror})", path=str(exc.filename)))

            for root, dirs, files in os.walk(p, onerror=_walk_error):
                dirs.sort()
                found.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                log.info("%s: no image files found", p)
            out.extend(found)
        else:
            out.append(p)
    return out


# ---------------------------------------------------------------- video
def _cv2():
    import cv2

    return cv2


def is_stream_url(source: str) -> bool:
    return "://" in source


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int


def redact(source: str) -> str:
    """``source`` as it may be shown or written anywhere: a stream URL's password (``rtsp://user:secret@host``)
    becomes ``***``; anything else is unchanged."""
    import re

    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/]*@", r"\1:***@", source)


def shown(text: str | os.PathLike) -> str:
    """A name as valid UTF-8 text for the terminal, JSON and the journal: bytes a file name holds that are not
    UTF-8 (``caf\xe9.jpg``, read by Python as surrogate escapes) are written ``\xe9``, control characters
    (ESC, NUL, ...) ``\x1b``; a stream URL's password is hidden (``redact``)."""
    s = os.fspath(text)
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    s = "".join(ch if ch.isprintable() or ch in "\t" else ch.encode("unicode_escape").decode("ascii") for ch in s)
    return redact(s)


_links: dict[str, str] = {}


def opencv_path(path: str | os.PathLike) -> str:
    """A name OpenCV can open ``path`` by: the name itself when it is valid UTF-8, else a link with a plain name
    to it in a private folder removed at exit. OpenCV crashes (SIGSEGV) on a file name that is not UTF-8;
    a link to a file not yet written lets FFmpeg create it under its real name."""
    name = os.fspath(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    if name not in _links:
        import atexit
        import shutil
        import tempfile

        if not _links:
            folder = tempfile.mkdtemp(prefix="emocare-names-")
            _links[""] = folder
            atexit.register(shutil.rmtree, folder, True)
        suffix = Path(name).suffix
        suffix = suffix if suffix.isascii() and suffix.isprintable() else ""
        link = os.path.join(_links[""], f"{len(_links)}{suffix}")
        os.symlink(os.path.abspath(name), link)
        _links[name] = link
    return _links[name]


def not_a_file(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read as a ``what`` file, or None: missing, a symbolic link loop, a folder, a named
    pipe, a device or a socket (each named as what it is)."""
    import errno
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "a broken symbolic link" if os.path.islink(path) else "no such file"
        return exc.strerror or str(exc)
    if stat.S_ISDIR(st.st_mode):
        return "is a folder"
    if stat.S_ISFIFO(st.st_mode):
        return f"a named pipe (FIFO), not {what} file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return f"a device, not {what} file"
    if stat.S_ISSOCK(st.st_mode):
        return f"a socket, not {what} file"
    return None


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
        raise SourceError(f"{name}: cannot be opened as a video")
    return cap


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


def cut_short(name: str, read: int, declared: int) -> str | None:
    """Why a video file ended before its last frame, or None: fewer frames decoded than its header declares (a
    damaged or truncated file), beyond the slack of a header that counts a few frames more than decode (an edit
    list, or a container that only estimates its count: pyfeat_no_face.mp4 declares 98 and holds 95)."""
    if declared <= 0 or read >= declared * 0.95 - 2:
        return None
    return f"{name}: stopped early: read {read} of the {declared} frames it declares (damaged or truncated video)"


def media_time(cap, index: int, fps: float, previous: float | None) -> float:
    """The frame just read's time in its stream (variable frame rates keep their gaps), or ``index / fps`` where
    the stream gives none; never earlier than the previous frame's."""
    try:
        ms = float(cap.get(_cv2().CAP_PROP_POS_MSEC))
    except Exception:  # a stub capture, or a backend without timestamps
        ms = float("nan")
    t = ms / 1000.0 if ms == ms and 0.0 <= ms < 1e12 and (index == 0 or ms > 0.0) else index / fps
    if previous is not None and t <= previous:
        t = previous + 1.0 / fps
    return t


class VideoFrames:
    """Every frame of a video file, with its media time (nothing is dropped); ``cut_short`` says, once the frames
    are read, why the file ended before the frames its header declares (``cut_short()``), else None."""

    def __init__(self, path: str, stride: int = 1):
        self.path = path
        self.stride = stride
        self.read = 0
        self.declared = 0
        self.cut_short: str | None = None

    def __iter__(self) -> Iterator[Frame]:
        cap = open_capture(self.path)
        try:
            info = video_info(cap)
            self.declared = info.frame_count
            t = None
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                t = media_time(cap, self.read, info.fps, t)
                if self.read % self.stride == 0:
                    yield Frame(image=image, index=self.read, t=t)
                self.read += 1
            if not self.read:
                raise SourceError(f"{shown(self.path)}: no frame could be decoded (empty or corrupt video)")
            self.cut_short = cut_short(shown(self.path), self.read, self.declared)
        finally:
            cap.release()


def iter_video(path: str, stride: int = 1) -> VideoFrames:
    """Every frame of a video file, with its media time (``VideoFrames``)."""
    return VideoFrames(path, stride)


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
        self._ended = False
        self.status = ""  # "" when healthy, else a line for the overlay ("reconnecting ...")
        self.error: str | None = None  # why the source ended, when it did not end normally
        self._thread = threading.Thread(target=self._run, name=f"capture:{name}", daemon=True)

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
                self.error = f"{self.name}: lost and not back after {self.reconnect_timeout_s:g} s"
                self.status = self.error
                log.info("%s", self.error)
                return False
            attempt += 1
            self.status = f"source lost - reconnecting (try {attempt}, {elapsed:.0f}/{self.reconnect_timeout_s:g} s)"
            log.info("%s: %s", self.name, self.status)  # on the overlay and the status line; stderr stays one line
            if self._cap is not None:
                self._cap.release()
            try:
                self._cap = self._opener()
                ok, image = self._cap.read()
                if ok and image is not None:
                    self.status = ""
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
