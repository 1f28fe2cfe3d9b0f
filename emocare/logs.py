"""emocare's log lines on stderr: ``emocare: warning: ...`` (as its own ``emocare: error: ...`` lines read), the
libraries' own lines only with ``--verbose``."""

from __future__ import annotations

import logging
import sys


class _Lowercase(logging.Formatter):
    """``emocare: warning: ...``, as emocare's own lines are worded (``emocare: error: ...``), not ``WARNING``."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # a copy: other handlers see the record as it was
        record.levelname = record.levelname.lower()
        return super().format(record)


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_emocare", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._emocare = True  # type: ignore[attr-defined]
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(_Lowercase("emocare: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Library lines that only repeat or garble what emocare says itself, kept for --verbose: playsound3's "No
    # supported audio backends" (emocare's one "no audio output" line says it, and what happens instead), and
    # gTTS's deprecation notice for "zh-CN" (it warns that it falls back to "zh-CN" itself).
    for name in ("playsound3", "gtts.lang"):
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)
