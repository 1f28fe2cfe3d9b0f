"""emocare as a library: ``analyze``, ``open_engine`` and ``watch``, re-exported by ``import emocare``.

    import emocare

    for face in emocare.analyze("photo.jpg"):
        print(face.box, face.dominant, face.confidence, face.emotions)

Images are paths or BGR ``uint8`` arrays (as ``cv2.imread`` gives them). Every
error is an ``emocare.EmocareError`` subclass (``InputError`` naming the path,
``EngineUnavailable``, ``ExtraMissing``, ``ModelMissing``, ``ConfigError``,
``SourceError``), worded for a caller: no command-line option in it. Nothing
here changes the host process (no logging set-up, no environment variable).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Union

from emocare.errors import ConfigError, EmocareError, InputError
from emocare.records import CareRecord, ChangeRecord, MoodRecord, Record

if TYPE_CHECKING:  # pragma: no cover  (numpy, cv2 and the engines load with the first call)
    import numpy as np

    from emocare.faces import Face, Faces
    from emocare.settings import Settings
    from emocare.watch import WatchRun

ImageLike = Union[str, "os.PathLike[str]", "np.ndarray"]

_OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


# a shell command the message tells the reader to run (``pip install --no-deps ...``): its flags stay as typed
_SHELL = re.compile(r"\bpip3? (?:install|uninstall)\b.*?(?=`|\)(?:\s|$)|;|$)")


def library_wording(message: str) -> str:
    """A message written for the command line, for a caller: ``--max-side 64`` reads ``max_side 64``. The pip
    commands a message gives as the fix keep their flags."""
    parts, end = [], 0
    for m in _SHELL.finditer(message):
        parts += [_OPTION.sub(lambda o: o.group(1).replace("-", "_"), message[end:m.start()]), m.group(0)]
        end = m.end()
    return "".join(parts) + _OPTION.sub(lambda o: o.group(1).replace("-", "_"), message[end:])


@contextlib.contextmanager
def _for_a_library(what: str) -> Iterator[None]:
    """emocare errors reworded for a caller; an optional extra's missing module as ``ExtraMissing``."""
    try:
        yield
    except EmocareError as exc:
        exc.args = tuple(library_wording(a) if isinstance(a, str) else a for a in exc.args)
        raise
    except ModuleNotFoundError as exc:
        from emocare.extras import from_import_error

        missing = from_import_error(exc, what)
        if missing is None:
            raise
        raise missing from exc


def _settings(config: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> Settings:
    """Settings from emocare's defaults and ``overrides`` (keyword names as in the config file); the config file
    only when ``config`` names one: a library call does not depend on a file its caller did not name."""
    from emocare import settings as settings_mod

    overrides = {k: v for k, v in overrides.items() if v is not None}
    if config is not None:
        return settings_mod.load(Path(config), overrides)[0]
    unknown = sorted(set(overrides) - settings_mod.FIELD_NAMES)
    if unknown:
        raise ConfigError(f"unknown setting {', '.join(map(repr, unknown))} "
                          f"(settings: {', '.join(sorted(settings_mod.FIELD_NAMES))})")
    values = {name: settings_mod._coerce(name, value) for name, value in overrides.items()}
    return settings_mod.validate(replace(settings_mod.Settings(), **values))


def as_image(image_or_path: ImageLike) -> np.ndarray:
    """A BGR ``uint8`` image (H x W x 3) from a path or an array (grey H x W, BGR, or BGRA), else ``InputError``."""
    import numpy as np

    if isinstance(image_or_path, (str, os.PathLike)):
        from emocare.sources import load_image

        return load_image(image_or_path)  # InputError naming the file and why
    if not isinstance(image_or_path, np.ndarray):
        raise InputError(f"expected a path or an image array (numpy, BGR, uint8), got {type(image_or_path).__name__}")
    image = image_or_path
    if image.dtype != np.uint8:
        raise InputError(f"expected an image array of uint8 (0-255, as cv2.imread gives), got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or 0 in image.shape[:2]:
        raise InputError(f"expected an image array H x W (grey), H x W x 3 (BGR) or H x W x 4 (BGRA), "
                         f"got shape {image.shape}")
    import cv2

    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


class Analyzer:
    """An emotion engine kept open for many images or frames: what ``emocare.open_engine`` returns.

    A context manager: the engine's models are released on leaving the ``with`` block (or by ``close()``).
    """

    def __init__(self, name: str = "auto", *, detector: str = "auto", max_side: int | None = None,
                 config: str | os.PathLike[str] | None = None):
        with _for_a_library(f"the {name} engine"):
            from emocare import engines

            self.settings = _settings(config, {"engine": name, "detector": detector, "max_side": max_side})
            self._engine = engines.build_from_settings(self.settings)
        self.name: str = self._engine.name  # the engine built ("auto" resolved)
        self.detector: str = self._engine.detector_name
        self._index = 0

    def analyze(self, image_or_path: ImageLike, *, stream: bool = False) -> Faces:
        """The faces of one image: a ``Faces`` (a sequence of ``Face``, boxes in the image's pixels).

        ``stream=True`` says this frame follows the previous one of the same video (faces are tracked between
        frames); ``reset()`` before another video.
        """
        if self._engine is None:
            raise EmocareError(f"the {self.name} engine is closed")
        with _for_a_library(f"the {self.name} engine"):
            from emocare.engines import analyze_frame

            image = as_image(image_or_path)
            faces = analyze_frame(self._engine, image, max_side=self.settings.max_side, frame_index=self._index,
                                  stream=stream)
        self._index += 1
        return faces

    def reset(self) -> None:
        """Forget the previous frames (a new video starts)."""
        if self._engine is not None:
            self._engine.reset()

    def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(name: str = "auto", *, detector: str = "auto", max_side: int | None = None,
                config: str | os.PathLike[str] | None = None) -> Analyzer:
    """An engine for many images (``with emocare.open_engine("emocare") as engine: engine.analyze(frame)``).

    ``name``: ``auto`` (DeepFace's model when its weights and the deepface extra are there, else emocare's own),
    ``emocare``, or another engine of ``emocare models``. ``max_side``: images are analysed on a copy whose longer
    side is at most this (default 1280); boxes stay in the image's pixels.
    """
    return Analyzer(name, detector=detector, max_side=max_side, config=config)


def analyze(image_or_path: ImageLike, engine: str = "auto", *, detector: str = "auto",
            max_side: int | None = None) -> list[Face]:
    """The faces of one photo (a path, or a BGR ``uint8`` array), each with ``.box`` (x, y, w, h), ``.emotions``
    (label -> probability), ``.dominant`` and ``.confidence``. No face is an empty list.

    Builds the engine for this one call; for many images keep one open with ``open_engine``.
    """
    with _for_a_library(f"the {engine} engine"):
        image = as_image(image_or_path)  # a bad path fails before the engine loads
    with open_engine(engine, detector=detector, max_side=max_side) as analyzer:
        return list(analyzer.analyze(image))


# ---------------------------------------------------------------- watch
@dataclass(frozen=True)
class MoodChange:
    """A person's steady mood (the rolling window's, not one frame's) was adopted or changed."""

    t: float  # seconds into the video (a camera or stream: since the start)
    person: int  # the tracker's id for this person
    mood: str  # one of EMOTIONS, or "uncertain"
    previous: str | None  # None: the first mood this person had
    confidence: float
    valence: str  # "negative", "positive" or "neutral"


@dataclass(frozen=True)
class CareEvent:
    """emocare comforted someone: what it said and played."""

    t: float
    person: int
    mood: str
    action: str  # the care level ("message", "speech", "music", ...)
    message: str
    lang: str
    audio: tuple[str, ...]  # the sound files played (empty with audio="none")


class _Callbacks:
    """The sink ``watch`` hands ``watch.run``: journal lines and frames to the caller's callbacks."""

    def __init__(self, on_mood: Callable[[MoodChange], object] | None, on_care: Callable[[CareEvent], object] | None,
                 on_faces: Callable[[Faces], object] | None):
        self._on_mood, self._on_care, self._on_faces = on_mood, on_care, on_faces
        self._seen: set[int] = set()

    def __enter__(self) -> _Callbacks:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def on_faces(self, faces: Faces) -> None:
        if self._on_faces is not None:
            self._on_faces(faces)

    def on_record(self, record: Record) -> None:
        t = float(record.t)
        if isinstance(record, MoodRecord) and self._on_mood is not None and record.id not in self._seen:
            self._seen.add(record.id)
            self._on_mood(MoodChange(t, record.id, record.mood, None, record.confidence, record.valence))
        elif isinstance(record, ChangeRecord) and self._on_mood is not None:
            self._seen.add(record.id)
            self._on_mood(MoodChange(t, record.id, record.to, record.from_, record.confidence, record.valence))
        elif isinstance(record, CareRecord) and self._on_care is not None:
            self._on_care(CareEvent(t, record.id, record.mood, record.action, record.message, record.lang or "",
                                    tuple(record.audio or ())))


def watch(source: str | os.PathLike[str] | int = 0, on_mood: Callable[[MoodChange], object] | None = None,
          on_care: Callable[[CareEvent], object] | None = None, *, on_faces: Callable[[Faces], object] | None = None,
          fast: bool = False, show_window: bool = False, journal: str | os.PathLike[str] | None = None,
          config: str | os.PathLike[str] | None = None, **settings: Any) -> WatchRun:
    """Watch a video file, a stream URL or a camera (an int) until it ends, as ``emocare watch`` does.

    ``on_mood(MoodChange)``: a person's steady mood was adopted or changed. ``on_care(CareEvent)``: emocare
    comforted someone (called from the care worker's thread). ``on_faces(Faces)``: every analysed frame.
    ``fast``: a file analysed frame by frame as fast as it goes, not at its own pace. ``show_window``: show the OpenCV window (``window_s`` is the rolling window's length).
    ``settings``: any setting of the config file, e.g. ``engine="emocare"``, ``audio="none"``, ``window_s=3.0``.
    Returns the run: why it ended (``.result.reason``), the journal written (``.journal``) and its lines.
    """
    with _for_a_library("watch"):
        if isinstance(source, bool) or not isinstance(source, (str, os.PathLike, int)):
            raise InputError(f"expected a video path, a stream URL or a camera index, got {type(source).__name__}")
        camera = source if isinstance(source, int) else None
        path = None if camera is not None else os.fspath(source)
        if path is not None:
            from emocare.images import is_photo
            from emocare.sources import is_stream_url

            if not is_stream_url(path) and is_photo(path):
                raise InputError(f"{path}: a photo, not a video (emocare.analyze reads photos)", path)
            if fast and is_stream_url(path):
                raise ConfigError("fast=True needs a video file, not a stream")
        if fast and camera is not None:
            raise ConfigError("fast=True needs a video file, not a camera")
        values = {**settings, "camera": camera} if camera is not None else settings
        chosen = _settings(config, values)
        from emocare import watch as watch_mod

        request = watch_mod.WatchRequest(source=path, fast=fast, show_window=show_window,
                                         journal=Path(journal) if journal is not None else None)
        return watch_mod.run(chosen, request, [_Callbacks(on_mood, on_care, on_faces)])
