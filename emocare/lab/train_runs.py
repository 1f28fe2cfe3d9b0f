"""A training run on disk: ``--out`` and the checkpoint folder checked before any training, what a run leaves there
(``best.weights.h5``, ``history.json``, ``run.json``, ``arch.json``), finished runs' networks read back (``--init``,
``--teacher``, ``--average``), the result a run returns and the device it trains on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocare.engines.crops import INPUT
from emocare.errors import ConfigError, InputError, OutputError
from emocare.lab.train_nets import build_model, runtime_graph, widen


@dataclass
class TrainResult:
    model: str
    epochs_run: int
    best_epoch: int
    seconds: float
    device: str
    metrics: dict
    history: list[dict]


def _model_out(out: Path | str) -> Path:
    """``--out``: the model's path, a .tflite file (its .json description is written beside it)."""
    out = Path(out)
    if out.suffix != ".tflite":
        raise ConfigError(f"--out {out}: the model is written as a .tflite file")
    return out


def _device() -> str:
    """Where Keras trains: the GPUs its backend sees (TensorFlow here; JAX or PyTorch where ``KERAS_BACKEND``
    says so, for example on a GPU machine without TensorFlow), else the CPU."""
    import keras

    backend = keras.backend.backend()
    gpus = 0
    if backend == "tensorflow":
        import tensorflow as tf

        from emocare.engines._quiet import quiet_native

        with quiet_native():  # TensorFlow's "failed call to cuInit" line on a machine without a GPU
            gpus = len(tf.config.list_physical_devices("GPU"))
    elif backend == "jax":
        import jax

        gpus = sum(d.platform == "gpu" for d in jax.devices())
    elif backend == "torch":
        import torch

        gpus = torch.cuda.device_count()
    where = f"GPU ({gpus})" if gpus else f"CPU ({os.cpu_count()} cores)"
    return where if backend == "tensorflow" else f"{where}, Keras on {backend}"


def _arch(ckpt: Path) -> str:
    """The network a checkpoint folder holds (written when the run started; runs from before say nothing: small)."""
    path = Path(ckpt) / "arch.json"
    return json.loads(path.read_text()).get("arch", "small") if path.is_file() else "small"


RUN_FILES = ("backup", "best.weights.h5", "history.json", "run.json")  # what a run leaves in its checkpoint folder


def _checkpoint_dir(ckpt: Path, resume: bool, arch: str, force: bool = False) -> Path:
    """The checkpoint folder, writable, noting its network. An earlier run's files are never deleted: a fresh
    run into a folder that holds one is refused (``ConfigError``), or with ``force`` they are moved aside into
    ``previous/`` (which replaces an older ``previous/``), so a new run that then fails has destroyed nothing."""
    _writable(ckpt, f"{ckpt}: cannot write checkpoints there", "; choose another --out or --checkpoints")
    if resume:
        held = _arch(ckpt) if (ckpt / "arch.json").is_file() else arch
        if held != arch:
            raise ConfigError(f"--resume: {ckpt} holds a {held} network, not {arch} (--arch)")
    else:
        found = [name for name in RUN_FILES if (ckpt / name).exists()]
        if found and not force:
            raise ConfigError(f"{ckpt} holds an earlier run ({', '.join(found)}): --resume it, choose another --out "
                              "or --checkpoints, or --force to keep it in previous/ and start afresh")
        if found:
            import shutil

            aside = ckpt / "previous"
            shutil.rmtree(aside, ignore_errors=True)
            aside.mkdir()
            for name in found + [n for n in ("arch.json",) if (ckpt / n).exists()]:
                (ckpt / name).rename(aside / name)
    (ckpt / "arch.json").write_text(json.dumps({"arch": arch}))
    return ckpt


def _check_writable(out: Path) -> None:
    """``--out``'s folder takes files, checked before any training (a run must not end with nowhere to go)."""
    _writable(out.parent if str(out.parent) else Path("."), f"--out {out}: cannot write there")


def _writable(folder: Path, refusal: str, hint: str = "") -> None:
    """``folder`` exists (made if need be) and takes a file, or an ``OutputError``: ``refusal (why)hint``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".emocare-writable"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{refusal} ({exc.strerror or exc}){hint}") from None


def _best_weights(ckpt: Path | str | None, arch: str | None) -> Path | None:
    """A finished run's best network (``CKPT/best.weights.h5``: ``--init``, ``--teacher``, ``--average``);
    ``arch``: the network ``--init`` must hold (None: any)."""
    if ckpt is None:
        return None
    if str(ckpt).endswith(".tflite") and arch is not None:  # --init: an exported model's network (``unfold``)
        if not Path(ckpt).is_file():
            raise InputError(f"--init {ckpt}: no such model", str(ckpt))
        return Path(ckpt)
    weights = Path(ckpt) / "best.weights.h5"
    if not weights.is_file():
        raise InputError(f"{ckpt}: not a finished run's checkpoint folder (no best.weights.h5)", str(ckpt))
    held = _arch(Path(ckpt))
    if arch is not None and held != arch and (held, arch) not in WIDENS:
        raise ConfigError(f"--init {ckpt}: holds a {held} network, not {arch} (--arch)")
    return weights


WIDENS = {("small", "wide")}  # (--init's network, --arch): a network that starts a wider one (``widen``)


def _load_init(net, weights: Path, arch: str) -> None:
    """``--init``'s best network into ``net``: as it is, or widened when ``net`` is the wider network."""
    held = _arch(weights.parent)
    if held == arch:
        net.load_weights(str(weights))
        return
    narrow = build_model(0, arch=held)
    narrow.load_weights(str(weights))
    net.set_weights(widen([np.array(w) for w in narrow.get_weights()], net))


def _ensemble(files: list[Path]):
    """The best networks of finished runs (their ``best.weights.h5``) in one Keras graph: the mean of their
    log-probabilities (one run: its logits)."""
    import keras

    face = keras.Input((INPUT, INPUT, 1), name="face")
    members = []
    for i, f in enumerate(files):
        net = build_model(i, name=f"run_{i}", arch=_arch(f.parent))
        net.load_weights(str(f))
        # each member with its head as the exporter writes it (``runtime_graph``): OpenCV's DNN module runs it too
        members.append(keras.layers.Activation(keras.activations.log_softmax, name=f"log_probs_{i}")(runtime_graph(net)(face)))
    if len(members) == 1:
        return keras.Model(face, members[0], name="emocare_emotion")
    return keras.Model(face, keras.layers.Average(name="logits")(members), name="emocare_emotion_average")


def _recipe(ckpt: Path) -> dict:
    """How a run was trained, from the ``run.json`` it leaves in its checkpoint folder (device, seed, batch,
    rate, teacher, init); {} for runs from before it did."""
    path = ckpt / "run.json"
    if not path.is_file():
        return {}
    run = json.loads(path.read_text())
    keys = ("device", "seed", "batch_size", "lr", "epochs", "init", "teacher", "votes", "class_weights", "train_data")
    return {k: run[k] for k in keys if k in run}


def _history(ckpt: Path) -> list[dict]:
    path = ckpt / "history.json"
    return json.loads(path.read_text()) if path.is_file() else []
