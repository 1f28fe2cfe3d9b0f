"""The ``emocare`` console script: signals first, then the CLI.

Ctrl-C (or SIGTERM) during the imports of the first ~0.1 s is a one-line
exit 130 like any later interrupt, never a ``KeyboardInterrupt`` traceback;
SIGTERM (systemd, ``docker stop``, logout) takes the same clean path as
Ctrl-C, so a session still writes its ``end`` record and summary. Native
libraries (OpenCV, FFmpeg) are told to keep their log lines to themselves
unless ``--verbose`` asks for them.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupt(signum, frame):  # SIGTERM → the same KeyboardInterrupt path as Ctrl-C
    raise KeyboardInterrupt


def main() -> None:
    try:
        signal.signal(signal.SIGTERM, _interrupt)
        if not ({"-v", "--verbose"} & set(sys.argv[1:])):
            os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
            os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        from emocare.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:  # not SystemExit: the CLI's own exit codes pass through
        from emocare.errors import caused_by_interrupt

        if caused_by_interrupt(exc):  # e.g. ImportError("initialization failed") from a Ctrl-C mid-import
            _interrupted()
        raise


def _interrupted() -> None:
    sys.stderr.write("emocare: interrupted\n")
    sys.exit(130)
