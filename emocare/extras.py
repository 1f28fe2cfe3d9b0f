"""The optional extras: which one a command or an engine needs, and the one line that says so.

``pip install emocare`` is the product (BlazeFace and emocare's own model on
OpenCV's DNN module, no TensorFlow). The rest comes with an extra (``pyproject.toml``):
``litert`` (the faster runtime), ``deepface``, ``fer``, ``plot``, ``lab`` and ``all``. Whether an extra is
there is asked with ``importlib.util.find_spec``, which imports nothing.
"""

from __future__ import annotations

import importlib.util

from emocare.errors import ExtraMissing

# extra -> (the modules it brings that emocare imports, what they are called in the message)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "litert": (("ai_edge_litert",), "LiteRT"),
    "lab": (("tensorflow", "keras", "matplotlib"), "TensorFlow, Keras and matplotlib"),
    "deepface": (("deepface", "tensorflow", "tf_keras", "h5py"), "DeepFace, TensorFlow and h5py"),
    "fer": (("fer", "tensorflow", "pandas"), "the fer package and TensorFlow"),
    "plot": (("matplotlib",), "matplotlib"),
}
# a module emocare may fail to import -> the extra that brings it (for an import that no check caught first)
MODULE_EXTRA: dict[str, str] = {"ai_edge_litert": "litert", "tensorflow": "lab", "keras": "lab", "tf_keras": "deepface", "deepface": "deepface",
                                "h5py": "deepface", "fer": "fer", "pandas": "fer", "matplotlib": "plot"}
# fer's own requirements pull a multi-GB CUDA torch (facenet-pytorch, for its optional MTCNN) and moviepy:
# the fer extra brings what fer imports, and fer itself goes in without them
FER_PACKAGE = "fer==25.10.3"


def install_hint(extra: str) -> str:
    hint = f"pip install 'emocare[{extra}]'"
    if extra in ("fer", "all"):
        hint += f" && pip install --no-deps {FER_PACKAGE}"
    return hint


def missing(extra: str) -> tuple[str, ...]:
    """The modules of ``extra`` that cannot be found (empty: the extra is installed)."""
    modules, _ = EXTRAS[extra]
    return tuple(m for m in modules if importlib.util.find_spec(m) is None)


def require(extra: str, what: str) -> None:
    """``ExtraMissing`` (one line, exit 4) when ``what`` (e.g. "emocare train") cannot run without ``extra``."""
    if missing(extra):
        raise ExtraMissing(f"{what} needs {EXTRAS[extra][1]}, which the light install leaves out: "
                           f"{install_hint(extra)}", extra)


def from_import_error(exc: BaseException, what: str = "this") -> ExtraMissing | None:
    """The ``ExtraMissing`` that a ``ModuleNotFoundError`` for an extra's module stands for, else None."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    extra = MODULE_EXTRA.get(exc.name.split(".")[0])
    if extra is None:
        return None
    return ExtraMissing(f"{what} needs {exc.name.split('.')[0]}, which the light install leaves out: "
                        f"{install_hint(extra)}", extra)
