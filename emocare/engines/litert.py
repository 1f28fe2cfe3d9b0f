"""LiteRT interpreters: how every ``.tflite`` file emocare runs is opened (BlazeFace and its landmark model,
emocare's own emotion model, FER's TFLite model, DeepFace's model compiled to TFLite).

One place decides the thread count (``EMOCARE_THREADS``, else 2), keeps LiteRT's INFO line off the user's
terminal, and turns a file LiteRT cannot run into one ``ModelMissing`` line.
"""

from __future__ import annotations

import os

from emocare.engines._quiet import quiet_native


def litert_interpreter(path, threads: int | None = None):
    """A LiteRT interpreter for ``path``, its tensors allocated, built without its INFO line on the user's terminal.

    ``threads``: None takes ``EMOCARE_THREADS`` (set to 1 in ``analyze --jobs`` workers), else 2.
    """
    from ai_edge_litert.interpreter import Interpreter

    from emocare.errors import ModelMissing

    if threads is None:
        threads = env_threads() or 2
    try:
        with quiet_native():
            interp = Interpreter(model_path=str(path), num_threads=threads)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:  # not a FlatBuffer, or a graph LiteRT cannot run
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise ModelMissing(f"{path}: not a usable TFLite model ({why})") from None
    return interp


def env_threads() -> int:
    """``EMOCARE_THREADS`` as a count of threads (0 when unset), or ``ConfigError`` naming it."""
    from emocare.errors import ConfigError

    raw = os.environ.get("EMOCARE_THREADS", "").strip()
    try:
        value = int(raw or 0)
    except ValueError:
        value = -1
    if not 0 <= value <= 1024:
        raise ConfigError(f"EMOCARE_THREADS={raw!r}: expected a whole number of threads (1, 2, ...)")
    return value
