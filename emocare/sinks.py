"""Where ``watch`` writes frames: the recorded video and the snapshots (each a context manager or a plain call)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import numpy as np

from emocare.names import make_folder
from emocare.records import SnapshotRecord

log = logging.getLogger(__name__)


class VideoSink:
    """The annotated video (``--record``): opened on the first frame at its size, released on exit.

    ``path=None`` is a sink that writes nothing. If the file cannot be opened, or
    what was written cannot be read back when it is closed (a full disk: OpenCV's
    writer reports no failed write), ``error`` says so; the session goes on, and
    ends with that line and exit 1.
    """

    def __init__(self, path: Path | None, fps: float):
        self.path = path
        self.fps = fps
        self._writer = None
        self.written = 0
        self.error: str | None = None

    @property
    def active(self) -> bool:
        return self.path is not None

    def __enter__(self) -> "VideoSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, image: np.ndarray) -> None:
        if self.path is None:
            return
        import cv2

        if self._writer is None:
            make_folder(self.path.parent)
            h, w = image.shape[:2]
            from emocare.sources import opencv_path

            self._writer = cv2.VideoWriter(opencv_path(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                self.error = f"--record {_shown(self.path)}: cannot write video{_disk_full(self.path)}"
                self._writer, self.path = None, None
                return
        self._writer.write(image)
        self.written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            self._check()

    def _check(self) -> None:
        """The recording reads back with the frames written, or ``error`` says it is damaged and why."""
        import cv2

        from emocare.sources import opencv_path

        cap = cv2.VideoCapture(opencv_path(self.path))
        try:
            got = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()
        if got < self.written - max(1, self.written // 100):  # a container that estimates its count may miss one
            self.error = (f"--record {_shown(self.path)}: damaged, {got} of the {self.written} frames written read back"
                          f"{_disk_full(self.path)}")


def _shown(path: Path) -> str:
    from emocare.sources import shown

    return shown(path)


def _disk_full(path: Path) -> str:
    """``; No space left on device`` where that is why a write failed, else nothing."""
    import shutil

    try:
        return "; No space left on device" if shutil.disk_usage(path.parent).free < (1 << 20) else ""
    except OSError:
        return ""


class SnapshotSink:
    """PNG snapshots (the ``s`` key) into ``folder``, each noted in the journal."""

    def __init__(self, folder: Path, journal):
        self.folder = folder
        self.journal = journal
        self.saved: list[Path] = []

    def save(self, image: np.ndarray, index: int, t: float) -> Path | None:
        """Write one snapshot, its owner's alone as a journal is (0600 in a folder made 0700): it shows faces."""
        import os

        import cv2

        from emocare.journal import FILE_MODE, FOLDER_MODE

        path = self.folder / f"emocare-{datetime.now():%Y%m%d-%H%M%S}-{index:06d}.png"
        ok, png = cv2.imencode(".png", image)
        try:
            make_folder(self.folder, mode=FOLDER_MODE)
            if not ok:
                raise OSError("cannot encode the image")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "wb") as f:
                f.write(png.tobytes())
        except OSError as exc:
            log.warning("%s: cannot write the snapshot (%s)", path, exc.strerror or exc)
            return None
        self.saved.append(path)
        self.journal.write(SnapshotRecord(t=t, path=str(path)))
        return path
