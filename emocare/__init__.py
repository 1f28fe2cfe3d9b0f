"""emocare: a real-time facial-emotion care companion.

As a library (README, "Use from Python")::

    import emocare

    faces = emocare.analyze("photo.jpg")            # list[Face]: .box .emotions .dominant .confidence
    with emocare.open_engine("emocare") as engine:   # one engine for many frames
        faces = engine.analyze(frame)                # Faces: a sequence of Face
    emocare.watch("clip.mp4", on_mood=print, on_care=print, audio="none")

Importing this package is cheap on purpose: nothing heavy (cv2, TensorFlow,
deepface, fer, rich) is imported here, so ``emocare --help`` answers at once;
each name below is imported when it is first used (``__getattr__``); even
``importlib.metadata`` waits until ``__version__`` is asked for, so that the
console script reaches its Ctrl-C handler (``_entry.main``) as early as it can.

``emocare.analyze`` and ``emocare.watch`` are also the names of the modules
behind the ``analyze`` and ``watch`` commands, and importing a submodule sets
the package's attribute of that name. So those two submodules are made
callable (``_CallableModule``): ``emocare.watch(...)`` calls ``api.watch``, and
``from emocare import watch; watch.run(...)`` still reaches the module.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover  (what type checkers and editors see; at run time: __getattr__)
    from emocare.api import Analyzer, CareEvent, MoodChange, analyze, open_engine, watch
    from emocare.errors import (ConfigError, EmocareError, EngineUnavailable, ExtraMissing, InputError, ModelMissing,
                                SourceError, WindowUnavailable)
    from emocare.faces import EMOTIONS, Face, Faces, Mood

_LAZY: dict[str, str] = {
    "open_engine": "emocare.api", "Analyzer": "emocare.api", "MoodChange": "emocare.api", "CareEvent": "emocare.api",
    "Face": "emocare.faces", "Faces": "emocare.faces", "Mood": "emocare.faces", "EMOTIONS": "emocare.faces",
    **{name: "emocare.errors" for name in ("EmocareError", "InputError", "SourceError", "EngineUnavailable",
                                           "ExtraMissing", "ModelMissing", "ConfigError", "WindowUnavailable")},
}
_CALLABLE = ("analyze", "watch")  # submodules that are also the API's functions

__all__ = sorted([*_LAZY, *_CALLABLE])


class _CallableModule(types.ModuleType):
    """``emocare.analyze`` / ``emocare.watch``: the module, and, when called, ``emocare.api``'s function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from emocare import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)

    @property
    def __signature__(self):  # inspect.signature(emocare.analyze), help texts of editors
        import inspect

        from emocare import api

        return inspect.signature(getattr(api, self.__name__.rpartition(".")[2]))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE and type(value) is types.ModuleType:  # the import system setting the submodule
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
for _name in _CALLABLE:  # already imported before this package finished (not in practice, but cheap to cover)
    if f"{__name__}.{_name}" in sys.modules:
        setattr(sys.modules[__name__], _name, sys.modules[f"{__name__}.{_name}"])
del _name


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("emocare")
        except PackageNotFoundError:  # running from a checkout that was never installed
            return "0+unknown"
    if name in _CALLABLE:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")  # made callable as the import sets the attribute
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emocare' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
