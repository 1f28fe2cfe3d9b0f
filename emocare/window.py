"""The OpenCV window: ``imshow``/``waitKey`` live here and nowhere else.

Without a display (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) no window is
opened: Qt would abort the whole process. ``available()`` says so up front and
the caller degrades to headless with one visible line.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger(__name__)

TITLE = "emocare"


@dataclass(frozen=True)
class Key:
    """One binding: the key codes, how the help names them, the command they send, what it does."""

    codes: frozenset[int]
    label: str
    command: str
    does: str


# the one key table: the session maps commands to actions, the help overlay and --help read the labels
KEYS = (
    Key(frozenset({ord("q"), ord("Q"), 27}), "q / Esc", "quit", "quit"),
    Key(frozenset({ord(" ")}), "space", "pause", "pause / resume"),
    Key(frozenset({ord("m"), ord("M")}), "m", "mute", "mute / unmute"),
    Key(frozenset({ord("s"), ord("S")}), "s", "snapshot", "snapshot (PNG)"),
    Key(frozenset({ord("h"), ord("H")}), "h", "help", "show / hide this help"),
)


def command(key: int | None) -> str | None:
    """The command bound to ``key`` (None: unbound or no key)."""
    return next((k.command for k in KEYS if key in k.codes), None) if key is not None else None


def keys_summary() -> str:
    """The keys in one line (``watch --help``)."""
    return "Keys: " + ", ".join(f"{k.label.replace(' ', '')} {k.command}" for k in KEYS) + "."


OPENCV_GUI = "opencv-python==4.14.0.94"  # the one GUI build emocare installs (pyproject.toml)


def gui_missing() -> str | None:
    """None when the OpenCV that Python loads can open a window; else one line naming its build and the fix.

    A headless wheel (``opencv-python-headless``, or the ``opencv-contrib-python-headless`` that deepface
    pulls) writes the same ``cv2`` folder as the GUI build; whichever was installed last is the one loaded.
    """
    import cv2

    gui = next((line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
                if line.strip().startswith("GUI:")), "NONE")
    if gui.upper() != "NONE":
        return None
    from importlib import metadata

    wheels = sorted({(d.metadata["Name"] or "").lower() for d in metadata.distributions()
                     if (d.metadata["Name"] or "").lower().startswith("opencv")})
    which = ", ".join(wheels) if wheels else "no OpenCV wheel"
    return (f"a window needs OpenCV with a GUI, and the cv2 Python loads is a headless build "
            f"(OpenCV {cv2.__version__}; installed: {which}); fix: pip uninstall -y {' '.join(wheels or ['opencv-python'])}"
            f" && pip install --no-deps --force-reinstall {OPENCV_GUI}")


def available(env=None) -> tuple[bool, str]:
    """(whether a window can be opened, why not)."""
    env = os.environ if env is None else env
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    return True, ""


class Window:
    def __init__(self, title: str = TITLE, size: tuple[int, int] | None = None):
        self.title = title
        self.size = size
        self._open = False
        self._sized = False
        self.closed_by_user = False

    def __enter__(self) -> "Window":
        import cv2

        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._open = True
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def show(self, image: np.ndarray, wait_ms: int = 1) -> int | None:
        """Show ``image``; the key pressed (or None). Sets ``closed_by_user`` when the window was closed.

        The window opens at the first image's size (``overlay.window_size``
        keeps that within a laptop screen) and may be resized; the session
        then draws each canvas at ``canvas_size()``, so text stays sharp.
        """
        import cv2

        if not self._open:
            return None
        if not self._sized:
            h, w = image.shape[:2]
            while w > 1600 or h > 900:
                w, h = w // 2, h // 2
            cv2.resizeWindow(self.title, *(self.size or (w, h)))
            self._sized = True
        cv2.imshow(self.title, image)
        key = cv2.waitKey(max(1, wait_ms))
        self._check_closed()
        return None if key < 0 else key & 0xFF

    def canvas_size(self) -> tuple[int, int] | None:
        """The size (width, height) the window shows images at now; None before the first image, or when unknown."""
        if not self._open or not self._sized:
            return None
        import cv2

        try:
            _, _, w, h = cv2.getWindowImageRect(self.title)
        except cv2.error:
            return None
        return (int(w), int(h)) if w >= 320 and h >= 200 else None

    def poll(self, wait_ms: int = 1) -> int | None:
        """Keys and window events without drawing (while no new frame has come); the key pressed, or None."""
        import cv2

        if not self._open:
            return None
        key = cv2.waitKey(max(1, wait_ms))
        self._check_closed()
        return None if key < 0 else key & 0xFF

    def _check_closed(self) -> None:
        import cv2

        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                self.closed_by_user = True
        except cv2.error:
            self.closed_by_user = True

    def close(self) -> None:
        if self._open:
            import cv2

            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
            self._open = False
