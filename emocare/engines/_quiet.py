"""Keep TensorFlow/deepface/fer start-up chatter off the user's terminal.

TensorFlow's C++ side writes INFO lines straight to file descriptor 2 while it
loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and deepface prints to stdout
(which ``--json`` owns). While a library loads, both descriptors go to a
temporary file; if loading fails, what was captured is replayed on stderr so
nothing that explains the failure is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings


def prepare_tensorflow_env() -> None:
    """Called right before a library that imports TensorFlow.

    One Keras for the whole process: deepface needs TensorFlow's legacy Keras
    (tf-keras), and whichever engine loads first decides what ``tf.keras`` is.
    Also asks TensorFlow and deepface for fewer log lines.
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("DEEPFACE_LOG_LEVEL", "40")


@contextlib.contextmanager
def quiet_imports():
    prepare_tensorflow_env()
    with quiet_native():
        yield


@contextlib.contextmanager
def quiet_native():
    """Descriptors 1 and 2 to a temporary file while native code loads (LiteRT's XNNPACK INFO line)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = {}
        failed = True
        try:
            for fd in (1, 2):
                try:
                    saved[fd] = os.dup(fd)
                    os.dup2(sink.fileno(), fd)
                except OSError:  # no real descriptor (e.g. an embedding host): just go on
                    pass
            with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
            failed = False
        finally:
            interrupted = _restore(saved)
            if failed:  # what the library said before it failed explains the failure
                sink.seek(0)
                captured = sink.read().decode("utf-8", "replace")
                if captured.strip():
                    sys.stderr.write(captured)
            if interrupted:
                raise KeyboardInterrupt


def _restore(saved: dict[int, int]) -> bool:
    """Put the saved descriptors back, all of them even if Ctrl-C lands meanwhile; True if it did.

    A Ctrl-C between two of these steps must not leave descriptor 2 on the
    temporary file, or the "interrupted" line that follows would vanish with it.
    """
    interrupted = False
    while saved:
        try:
            fd, dup = next(iter(saved.items()))
            with contextlib.suppress(ValueError, OSError):  # a closed or broken stream: nothing to flush
                (sys.stdout if fd == 1 else sys.stderr).flush()
            os.dup2(dup, fd)
            del saved[fd]  # only once it is back: a retry after an interrupt repeats dup2, which is harmless
            os.close(dup)
        except KeyboardInterrupt:
            interrupted = True
    return interrupted

