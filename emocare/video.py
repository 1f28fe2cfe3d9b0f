"""Video: every frame of a video file with its media time, nothing dropped (``iter_video``, for ``--fast``), and
why a file ended before the frames its header declares (``cut_short``)."""

from __future__ import annotations

from typing import Iterator

from emocare.capture import Frame, _cv2, open_capture, video_info
from emocare.errors import SourceError
from emocare.names import shown


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
