"""The ``emocare`` console script: signals first, then the CLI.

Ctrl-C (or SIGTERM) during the imports of the first ~0.1 s is a one-line
exit 130 like any later interrupt, never a ``KeyboardInterrupt`` traceback;
SIGTERM (systemd, ``docker stop``, logout) and SIGHUP (the terminal window
closed; not under ``nohup``) take the same clean path as Ctrl-C, so a session
still writes its ``end`` record, and its summary where a terminal is left. Native
libraries (OpenCV, FFmpeg) are told to keep their log lines to themselves
unless ``--verbose`` asks for them. ``EMOCARE_READY_FD`` (``_say_ready``)
tells a supervisor when an interrupt is safe to send.
"""

from __future__ import annotations

import errno
import os
import signal
import sys


_hung_up = False  # set by SIGHUP: the terminal is gone, so writing to it fails from then on


def _interrupt(signum, frame):  # SIGTERM, SIGHUP → the same KeyboardInterrupt path as Ctrl-C
    global _hung_up
    _hung_up = _hung_up or signum == getattr(signal, "SIGHUP", None)
    raise KeyboardInterrupt


def main() -> None:
    try:
        _main()
    finally:
        _ignore_late_signals()


def _ignore_late_signals() -> None:
    """emocare's work is done (its result written, its exit code chosen): an interrupt from here on stays ignored.
    Python puts back SIG_DFL for SIGINT while it shuts down, where a Ctrl-C landing just after a complete result
    would kill the process (exit -2) instead of letting it exit with that result's code."""
    from emocare.interrupts import SIGNALS

    for sig in SIGNALS:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):  # not the main thread, or a signal this platform will not let be ignored
            pass


def _unraisable_interrupt(hook):
    """``sys.unraisablehook`` that hands an interrupt back: a Ctrl-C landing in code Python can only report (a
    weakref callback of the import machinery while modules load) was printed as "Exception ignored ... Traceback"
    and then lost; it is raised again where the main code catches it (one line, exit 130)."""

    def handle(unraisable) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            return
        hook(unraisable)

    return handle


def _main() -> None:
    try:
        _standard_streams()
        sys.unraisablehook = _unraisable_interrupt(sys.unraisablehook)
        signal.signal(signal.SIGTERM, _interrupt)
        hangup = getattr(signal, "SIGHUP", None)  # the terminal emocare runs in was closed
        if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:  # nohup asked to ignore it
            signal.signal(hangup, _interrupt)
        if not ({"-v", "--verbose"} & set(sys.argv[1:])):
            os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
            os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        _say_ready()
        from emocare.cli import main as cli_main

        try:
            cli_main()
        finally:
            _flush_output()  # what is still buffered fails here, where it can be said, not in Python's exit
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:  # not SystemExit: the CLI's own exit codes pass through
        from emocare.errors import caused_by_interrupt

        if caused_by_interrupt(exc):  # e.g. ImportError("initialization failed") from a Ctrl-C mid-import
            _interrupted()
        if _hung_up and isinstance(exc, OSError) and exc.errno in (errno.EIO, errno.EPIPE):
            _interrupted()  # the session ended cleanly; only its last words to the closed terminal failed
        if isinstance(exc, OSError) and exc.filename is None:  # a stream's write, not a named file's
            if isinstance(exc, BrokenPipeError):  # the reader of the output is gone, as with '| head': quietly 141
                from emocare.exits import Exit

                _silence()
                sys.exit(Exit.OUTPUT_CLOSED)
            if exc.errno in _WRITE_FAILED:
                _output_failed(exc)
        raise


# a write to stdout or stderr that failed: a full disk (> /dev/full), a quota, a file grown past its limit
_WRITE_FAILED = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _standard_streams() -> None:
    """A closed stdin, stdout or stderr (``emocare report >&-``) is opened on /dev/null: Python leaves ``sys.stdout``
    None, where the first print was a traceback, and a journal opened later would get descriptor 1 or 2 and
    take in what was meant for the terminal."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        from emocare.exits import devnull_onto

        if devnull_onto(fd):
            setattr(sys, name, open(fd, mode, closefd=False, errors="backslashreplace"))


def _flush_output() -> None:
    """stdout and stderr flushed while emocare can still say why a write failed (an ``OSError`` for
    ``_output_failed``; a closed pipe is the CLI's exit 141, which it has chosen by now)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:
            _silence()
        except ValueError:  # closed already
            pass


def _output_failed(exc: OSError) -> None:
    """One line for an output that could not be written (stdout on a full disk), exit 1: the README's "an output
    cannot be written", never a traceback."""
    from emocare.exits import Exit

    _silence_stdout()
    try:
        sys.stderr.write(f"emocare: error: cannot write the output ({exc.strerror or exc})\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr is what failed: the exit code says it
        _silence()
    sys.exit(Exit.FAILED)


def _silence_stdout() -> None:
    """Descriptor 1 to /dev/null, and Python's stdout emptied, so nothing fails again at exit."""
    from emocare.exits import devnull_onto

    if devnull_onto(1):
        sys.stdout = open(1, "w", closefd=False)


READY_FD = "EMOCARE_READY_FD"


def _say_ready() -> None:
    """From here on any interrupt ends emocare in one line: say so on the descriptor ``EMOCARE_READY_FD`` names.

    For whoever starts emocare and means to interrupt it (a supervisor, the
    tests): a signal sent earlier may land while Python itself is still
    starting, where nothing can catch it. The variable is not passed on.
    """
    fd = os.environ.pop(READY_FD, None)
    if fd is None:
        return
    try:
        os.write(int(fd), b"ready\n")
        os.close(int(fd))
    except (OSError, ValueError):
        pass


def _interrupted() -> None:
    try:
        sys.stderr.write("emocare: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # no terminal left to say it on (hung up): the exit code still says it
        _silence()
    from emocare.exits import Exit

    sys.exit(Exit.INTERRUPTED)


def _silence() -> None:
    """Descriptors 1 and 2 to /dev/null: what is still buffered for a closed terminal goes nowhere at exit
    instead of failing there (which would turn exit 130 into 120)."""
    from emocare.exits import devnull_onto

    devnull_onto(1, 2)
