"""emocare's real window under Xvfb, for the window tests: a virtual screen, the window's id, its screenshot.

Xvfb runs no window manager, and there OpenCV's Qt window sometimes misses
the expose of its first map and never paints: every screenshot of the whole
session is black. Measured with a bare ``namedWindow``/``imshow`` loop under
a 4-process CPU load: 5 of 20 windows stayed black, with or without
``resizeWindow``, pumping events first, or ``WINDOW_AUTOSIZE``; more frames,
``moveWindow`` and ``resizeWindow`` did not bring one back, while unmapping
and mapping it again (as a window manager does when it takes a window) made
Qt paint. That is how the CI run of stop 43 failed three window tests. So a
screenshot that stays black is taken again after such a remap.

Each screen takes a display no other server holds (a developer's own Xvfb,
or a second test run at once, made the tests skip when the numbers were fixed).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

TOOLS = ("Xvfb", "import", "xdotool", "xwininfo")
REMAP_AFTER = (3, 12, 24)  # black tries after which the window is unmapped and mapped again


def missing_tool() -> str | None:
    return next((tool for tool in TOOLS if not shutil.which(tool)), None)


@contextmanager
def screen() -> Iterator[str]:
    """A virtual screen's display name for a test, or the test skipped saying what is missing."""
    import pytest

    if missing_tool():
        pytest.skip(f"{missing_tool()} is needed (sudo make system-deps installs xvfb, imagemagick, xdotool, x11-utils)")
    with xvfb() as name:
        if name is None:
            pytest.skip("Xvfb did not start")
        yield name


@contextmanager
def xvfb() -> Iterator[str | None]:
    """A 1280x800 virtual screen on a display no other server holds (Xvfb picks it: ``-displayfd``); yields
    its name (``":1"``), or None when it did not start."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,))
    os.close(write)
    try:
        with os.fdopen(read) as answer:  # the display's number and a newline once it is ready; nothing if it died
            ready, _, _ = select.select([answer], [], [], 20)
            number = answer.readline().strip() if ready else ""
        yield f":{number}" if number.isdigit() and proc.poll() is None else None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def window_id(env: dict | None = None, title: str = "emocare") -> str | None:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, env=env).stdout
    return next((line.split()[0] for line in tree.splitlines() if f'"{title}"' in line), None)


def remap(wid: str, env: dict | None = None) -> None:
    """Unmap and map the window again, as a window manager does: Qt paints it afresh."""
    for step in ("windowunmap", "windowmap"):
        subprocess.run(["xdotool", step, "--sync", wid], env=env, check=True, timeout=10)


def shoot(path: Path, env: dict | None = None, *, ready: Callable[[np.ndarray], bool] = lambda image: True,
          wait: Callable[[], object] = lambda: time.sleep(0.25), tries: int = 40) -> np.ndarray | None:
    """A screenshot of the window into ``path``, taken again while black or not ``ready``; the last one taken.

    ``wait`` runs between tries: in the process that owns the window it must
    let Qt handle its events (``cv2.waitKey``), elsewhere a sleep will do.
    """
    import cv2

    image, black = None, 0
    for _ in range(tries):
        wid = window_id(env)
        subprocess.run(["import", "-window", wid, str(path)], env=env, check=True, timeout=30)
        image = cv2.imread(str(path))
        if image is not None and image.max() > 0 and ready(image):
            return image
        if image is not None and image.max() == 0:
            black += 1
            if black in REMAP_AFTER:
                remap(wid, env)
        wait()
    return image
