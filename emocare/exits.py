"""emocare's exit codes: one table (name, number, meaning) that every exit takes its number from.

The errors of ``errors.py``, ``cli.py``, ``_entry.py`` and a watch session's
end (``live.WatchResult``) all name a member here; ``--help`` is written from
``short``, and the README's exit-code table must list ``meaning`` for each
code, in this order (``tests/test_exits.py`` compares them). Standard library
only: ``_entry.py`` needs it before anything heavy is imported.
"""

from __future__ import annotations

import os
from enum import IntEnum


class Exit(IntEnum):
    """An exit code: an ``int`` (``sys.exit(Exit.USAGE)`` exits 2) with its ``short`` and ``meaning`` text."""

    short: str  # the few words --help gives it
    meaning: str  # the README's row

    def __new__(cls, code: int, short: str, meaning: str):
        member = int.__new__(cls, code)
        member._value_ = code
        member.short = short
        member.meaning = meaning
        return member

    OK = (0, "ok", "ok (no face is a result, not an error)")
    FAILED = (1, "some inputs failed",
              "some inputs failed (unreadable image, bad journal line), or an output cannot be written")
    USAGE = (2, "usage or config error",
             "usage or config error (unknown option, bad value, wrong shape in the config file)")
    SOURCE = (3, "camera/stream unavailable", "camera or stream unavailable, or lost for good")
    ENGINE = (4, "engine unavailable", "engine unavailable (a library or detector not installed)")
    WEIGHTS = (5, "model weights missing or altered", "model weights missing or altered (named in the line)")
    INTERRUPTED = (130, "interrupted", "interrupted (Ctrl-C, SIGTERM, or the terminal closed)")
    # 128 + SIGPIPE: what a shell reports for any tool whose reader left (`yes | head`)
    OUTPUT_CLOSED = (141, "output cut short (| head)",
                     "its output was cut short (`emocare analyze --json DIR | head`): it stops at the first write "
                     "nobody reads, quietly")


def describe(*codes: Exit | tuple[Exit, str]) -> str:
    """``Exit codes: 0 ok, 2 usage ...`` for a --help text: each code with its ``short`` words, or the words given."""
    parts = [f"{int(c[0])} {c[1]}" if isinstance(c, tuple) else f"{int(c)} {c.short}" for c in codes]
    return "Exit codes: " + ", ".join(parts) + "."


def devnull_onto(*fds: int) -> bool:
    """Descriptors ``fds`` pointed at /dev/null (read-write: stdin too); False where that failed."""
    try:
        sink = os.open(os.devnull, os.O_RDWR)
        for fd in fds:
            if fd != sink:
                os.dup2(sink, fd)
        if sink not in fds:
            os.close(sink)
        return True
    except OSError:
        return False
