"""The bodies of emocare's product commands, and what they share.

``emocare/cli.py`` declares each command (its options, help and exit codes) and hands the parsed values to a
body here: ``analyze``, ``watch``, ``serve``, ``report``, ``speech`` (say, voices cache) and ``models``. The lab's
commands (``bench``, ``train``) have theirs in ``emocare/lab/cli.py``. Each module imports only light modules at
its top (the heavy ones inside its functions), and nothing here imports ``emocare.cli``: the CLI imports these.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any, Optional

from emocare.errors import ConfigError
from emocare.names import make_folder

PLOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")  # what --record writes


class TerminalStream:
    """stderr as the terminal's lines see it: the first write that fails (its reader gone, ``2>/dev/full``) is kept
    in ``failed``, descriptor 2 goes to /dev/null, and every later write is dropped, so a session never stops, and
    its journal never goes without its end line, for a terminal that can no longer be written."""

    def __init__(self, stream):
        self._stream = stream
        self.failed: OSError | None = None

    def write(self, text: str) -> int:
        if self.failed is None:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._fail(exc)
        return len(text)

    def flush(self) -> None:
        if self.failed is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        if exc.errno not in LOST_TERMINAL:  # anything else (a stream left non-blocking) is not a lost terminal
            raise exc
        self.failed = exc
        try:  # what is still buffered for descriptor 2 goes nowhere at exit, rather than failing there
            own = self._stream.fileno() == 2
        except (OSError, ValueError, AttributeError):  # a stream with no descriptor of its own (a test's capture)
            own = False
        if own:
            from emocare.exits import devnull_onto

            devnull_onto(2)

    def __getattr__(self, name: str):  # isatty, fileno, encoding: the stream's own
        return getattr(self._stream, name)


_TERMINAL: TerminalStream | None = None
LOST_TERMINAL = (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EDQUOT)  # its reader gone, a full disk, a gone device


def terminal_stream() -> TerminalStream:
    """The one guarded stderr every console here writes to."""
    global _TERMINAL
    if _TERMINAL is None or _TERMINAL._stream is not sys.stderr:  # a test's captured stderr is a new one
        _TERMINAL = TerminalStream(sys.stderr)
    return _TERMINAL


def stderr_console():
    from rich.console import Console

    if sys.stderr is None:  # no stderr at all (a library host without one): Rich's own null file
        return Console(stderr=True)
    return Console(file=terminal_stream(), stderr=True)


def stdout_console():
    from rich.console import Console

    return Console()


def print_note(console, text: str) -> None:
    """A note wrapped at the console's width between words, with no trailing spaces, and a quoted command
    (``'emocare models download'``, ``'pip install ...'``) kept whole on one line, so it can be copied."""
    import re
    import textwrap

    keep = re.sub(r"'(?:emocare|pip) [^']*'", lambda m: m.group(0).replace(" ", "\u00a0"), text)
    for line in textwrap.wrap(keep, width=max(console.width, 40), break_long_words=False, break_on_hyphens=False):
        console.print(line.replace("\u00a0", " "), markup=False, highlight=False, soft_wrap=True)


def load_settings(config: Optional[Path], **overrides: Any):
    """The settings, with the options given on the command line; a bad option's value is named by its flag
    (``--window: must be > 0``), not by its setting (``window_s``), which is how the config file names it."""
    from emocare import settings as settings_mod
    from emocare.errors import ConfigError

    try:
        return settings_mod.load(config, overrides)
    except ConfigError as exc:
        key, sep, rest = str(exc).partition(":")
        if sep and overrides.get(key) is not None:
            raise ConfigError(f"{option_flag(key)}:{rest}") from None
        raise


def option_flag(setting: str) -> str:
    """The command-line flag that sets ``setting``: ``window_s`` → ``--window``, ``max_side`` → ``--max-side``."""
    name = setting[:-2] if setting.endswith("_s") else setting
    return "--" + name.replace("_", "-")


def check_output(path: Path, suffixes: tuple[str, ...], option: str) -> None:
    """Fail now, in one line, if ``path`` cannot be written or has a format emocare cannot write."""
    from emocare.errors import OutputError

    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path}: unsupported format {path.suffix or '(none)'} (use {', '.join(suffixes)})")
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder")
    try:
        make_folder(path.parent)
        existed = path.exists()
        with open(path, "ab"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None


def check_output_dir(path: Path, option: str, named: str | None = None) -> None:
    """Fail now, in one line naming ``option`` and ``path`` (or ``named``), if the folder ``path`` cannot be made
    or written."""
    from emocare.errors import OutputError

    named = named or f"{option} {path}"
    try:
        make_folder(path)
    except OSError as exc:
        raise OutputError(f"{named}: cannot create folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{named}: folder is not writable")


def check_audio_dir(settings) -> None:
    """``--audio file:DIR`` is an output: a folder that cannot be made or written fails now, in one line (exit 1),
    not with a warning once the first comfort is due."""
    if settings.audio.startswith("file:"):
        check_output_dir(Path(settings.audio[len("file:"):]), "--audio", f"--audio {settings.audio}")
