"""Typed errors. Library code raises these; only ``cli.py`` maps them to exit codes (``exits.Exit``)."""

from __future__ import annotations

from emocare.exits import Exit


class EmocareError(Exception):
    """Base of every error emocare reports to the user as one line."""

    exit_code: Exit = Exit.FAILED


class InputError(EmocareError):
    """An input file or folder cannot be read as an image or video."""

    exit_code = Exit.FAILED

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class SourceError(EmocareError):
    """A camera or stream cannot be opened (or was lost for good)."""

    exit_code = Exit.SOURCE


class EngineUnavailable(EmocareError):
    """The chosen emotion engine (or its detector) is not installed."""

    exit_code = Exit.ENGINE


class ExtraMissing(EngineUnavailable):
    """What was asked for needs an optional extra that is not installed (``pip install 'emocare[NAME]'``)."""

    def __init__(self, message: str, extra: str):
        super().__init__(message)
        self.extra = extra


class WindowUnavailable(EmocareError):
    """A window was asked for and the OpenCV that Python loads cannot open one (a headless build)."""

    exit_code = Exit.ENGINE


class ModelMissing(EmocareError):
    """Model weights are not on disk and cannot be fetched."""

    exit_code = Exit.WEIGHTS


class ConfigError(EmocareError):
    """The config file or a setting is invalid."""

    exit_code = Exit.USAGE


class JournalError(EmocareError):
    """A journal file cannot be read or written."""

    exit_code = Exit.FAILED


class OutputError(EmocareError):
    """An output (recording, plot, annotated images, JSON) cannot be written."""

    exit_code = Exit.FAILED


def caused_by_interrupt(exc: BaseException) -> bool:
    """True when Ctrl-C is what really stopped ``exc``.

    A KeyboardInterrupt that lands while a native extension initialises
    (LiteRT's or TensorFlow's pybind11 module) comes back as ``ImportError:
    initialization failed``, and a library may wrap that again; the interrupt
    is still in the exception's chain (``__cause__`` or ``__context__``).
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def checked_model(path, digest: str, what: str):
    """``path`` (a model file emocare ships), once it is there and matches its sha256; else ``ModelMissing`` in one
    line that names it."""
    import hashlib

    if not path.is_file():
        raise ModelMissing(f"{what} missing: {path} (reinstall emocare)")
    if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise ModelMissing(f"{what} altered: {path} does not match its sha256 (reinstall emocare)")
    return path
