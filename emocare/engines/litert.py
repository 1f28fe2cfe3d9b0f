"""How every ``.tflite`` file emocare runs is opened (BlazeFace and its landmark model, emocare's own emotion model,
FER's TFLite model, DeepFace's model compiled to TFLite): by LiteRT when it is installed (``emocare[litert]``,
``make install``), else, for the default engine's graphs, by OpenCV's DNN module (``opencv_dnn``), which the light
install has anyway. ``EMOCARE_RUNTIME=opencv`` chooses OpenCV even when LiteRT is there (``litert``: LiteRT or a
one-line error; ``auto``, the default: LiteRT when installed).

One place decides the thread count (``EMOCARE_THREADS``, else 2), keeps LiteRT's INFO line off the user's
terminal, and turns a file LiteRT cannot run into one ``ModelMissing`` line.
"""

from __future__ import annotations

import os

from emocare.engines._quiet import quiet_native


RUNTIMES = ("auto", "litert", "opencv")


def chosen_runtime() -> str:
    """``"litert"`` or ``"opencv"``: what ``model_interpreter`` opens the default engine's graphs with, from
    ``EMOCARE_RUNTIME`` and whether LiteRT is installed. ``ConfigError`` for an unknown name, ``ExtraMissing`` for
    ``litert`` when it is not installed."""
    import importlib.util

    from emocare.errors import ConfigError, ExtraMissing

    runtime = os.environ.get("EMOCARE_RUNTIME", "").strip().lower() or "auto"
    if runtime not in RUNTIMES:
        raise ConfigError(f"EMOCARE_RUNTIME={runtime!r}: expected one of {', '.join(RUNTIMES)}")
    has_litert = importlib.util.find_spec("ai_edge_litert") is not None
    if runtime == "litert" and not has_litert:
        raise ExtraMissing("EMOCARE_RUNTIME=litert: LiteRT is not installed: pip install 'emocare[litert]'", "litert")
    return "litert" if has_litert and runtime != "opencv" else "opencv"


def model_interpreter(path, threads: int | None = None, what: str = "this model"):
    """An interpreter for one of the default engine's graphs (BlazeFace, its landmark model, emocare's model):
    LiteRT's when installed (and ``EMOCARE_RUNTIME`` is not ``opencv``), else ``OpenCVInterpreter``. A graph that
    OpenCV cannot run is ``ExtraMissing`` naming the litert extra; a file that is no model is ``ModelMissing``."""
    from emocare.errors import ExtraMissing, ModelMissing

    if chosen_runtime() == "litert":
        return litert_interpreter(path, threads)
    from emocare.engines.opencv_dnn import GraphNotRunnable, NotAModel, OpenCVInterpreter

    try:
        return OpenCVInterpreter(path, threads if threads is not None else (env_threads() or 2))
    except NotAModel as exc:
        raise ModelMissing(f"{path}: {exc} (reinstall emocare, or export the model again)") from None
    except GraphNotRunnable as exc:
        raise ExtraMissing(f"{what} ({path}) needs LiteRT: OpenCV cannot run it ({exc}): "
                           f"pip install 'emocare[litert]'", "litert") from None


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
