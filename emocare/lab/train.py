"""``emocare train``: train emocare's emotion model on FER2013-style crops.

Data: a folder of ``<label>/`` sub-folders (the seven labels of
``EMOTIONS``) or a CSV of ``path,label`` rows (paths relative to the CSV).
Every image goes through ``crops.preprocess``, the same function the
engine uses on a detected face.

Recipe (chosen for 2 CPU cores; a GPU is used when Keras' backend sees one):
a depthwise-separable residual CNN (about 0.5 M parameters, mini-Xception
shape but wider; ``--arch vgg``: a 4.7 M VGG-style teacher), AdamW with a
warm-up and a cosine decay over the planned epochs, label smoothing 0.1, class
weights (square root of the inverse frequency, for the rare ``disgust``),
augmentation by flips, rotations of up to ±18°, shifts and zooms of up to 10%
and random erasing (``augment``: NumPy and OpenCV, so any Keras backend
trains). Distillation (``--teacher``) mixes a teacher's probabilities into
each label. Each epoch is checkpointed (``--resume`` continues an interrupted
run where it stopped); the best epoch on the validation split is kept and
training stops early when it has not improved for ``patience`` epochs. The
result is exported to TFLite (with FER's network inside the same graph when a
blend wins on val), its temperature fitted on the validation split, and
written with a JSON description (labels, temperature, sha256, figures).

On a GPU machine without TensorFlow, ``KERAS_BACKEND=jax`` (or ``torch``)
trains with the same code; the run then ends with its best network in the
checkpoint folder, and ``emocare train --average CKPT`` exports it where
TensorFlow is installed.

TensorFlow is imported inside the functions that need it.

This module holds the training loop; the stages it runs are in ``train_data`` (faces, augmentation, labels,
batches), ``train_nets`` (the networks), ``train_runs`` (checkpoint folders and finished runs), ``train_teacher``
(distillation), ``train_export`` with ``train_head`` (TFLite, the head and the temperature) and ``train_average``
(``--average``). Their public names are importable from here as before.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from emocare.engines.emocare_model import log_softmax, softmax
from emocare.errors import ConfigError, OutputError
from emocare.lab.train_data import LABEL_MODES, LABEL_SMOOTHING, Dataset, _arrays, _batches, _smoothing, _splits
from emocare.lab.train_export import balanced_accuracy, classification_metrics, export
from emocare.lab.train_head import votes_line
from emocare.lab.train_nets import _check_arch, build_model
from emocare.lab.train_runs import (TrainResult, _arch, _best_weights, _check_writable, _checkpoint_dir, _device,
                                    _load_init, _model_out)
from emocare.lab.train_teacher import _engine_teacher, _teachers, soften, teacher_probabilities, teacher_views
from emocare.settings import TrainPlan

# Re-exported: ``from emocare.lab.train import ...`` still finds the names that moved to the stage modules
from emocare.lab.calibration import expected_calibration_error, fit_temperature  # noqa: F401
from emocare.lab.train_average import MERGES, average_runs  # noqa: F401
from emocare.lab.train_data import augment, class_weights, load_dataset  # noqa: F401
from emocare.lab.train_export import describe  # noqa: F401
from emocare.lab.train_head import HEAD_LIMITS, choose_head, choose_head_votes  # noqa: F401
from emocare.lab.train_nets import ARCHS, WIDTHS, fer_network, widen, with_fer  # noqa: F401
from emocare.lab.train_runs import RUN_FILES, WIDENS  # noqa: F401
from emocare.lab.train_teacher import VIEW_SEED  # noqa: F401


@dataclass
class EpochLine:
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    val_balanced: float
    lr: float
    seconds: float

    def __str__(self) -> str:
        return (f"epoch {self.epoch:3d}/{self.epochs}  loss {self.loss:.3f}  acc {self.accuracy:.3f}  "
                f"val_loss {self.val_loss:.3f}  val_acc {self.val_accuracy:.3f}  val_bal {self.val_balanced:.3f}  "
                f"lr {self.lr:.2e}  {self.seconds:.0f} s")


def train(dataset: Path | str, val: Path | str, out: Path | str, *, plan: TrainPlan = TrainPlan(),
          resume: bool = False, checkpoints: Path | str | None = None, limit: int | None = None,
          on_line: Callable[[str], None] = print, progress_bar: bool = False, mirror: bool | None = None,
          teacher: Path | str | list | None = None, init: Path | str | None = None,
          votes: Path | str | None = None, val_votes: Path | str | None = None, force: bool = False) -> TrainResult:
    """Train, keep the best epoch on ``val``, export TFLite + JSON to ``out``.

    ``teacher``: an emocare model (a ``.tflite``, for example several runs averaged with ``--average``) or
    finished runs' checkpoint folders (their networks averaged, each face with its mirror image), whose
    probabilities on each training face are mixed into its label with weight ``plan.distill`` (knowledge
    distillation: one network learns what the slower ensemble knows). ``init``: start from a finished run's
    best network. ``votes``/``val_votes``: FER+ votes files for the training/validation faces (``emocare.lab.votes``):
    training learns each face's vote distribution (``plan.labels`` soft) or its most-voted emotion (majority),
    and val is scored against its votes (the best epoch by majority accuracy; the head, the bias and the
    temperature chosen against them). On a Keras backend other than TensorFlow (no TFLite converter) the run ends with its best
    network in the checkpoint folder and says how to export it.
    """
    out = _model_out(out)
    teachers = _checked_plan(plan, teacher)
    _check_writable(out)
    ckpt = _checkpoint_dir(Path(checkpoints) if checkpoints else out.with_suffix(".ckpt"), resume, plan.arch, force)
    started = time.perf_counter()
    init_weights = _best_weights(init, plan.arch)
    train_set, val_set = _read_splits(dataset, val, limit, on_line, teachers, votes, val_votes, plan)
    views, soft = _teacher_labels(teachers, train_set, plan, on_line)
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():
        import keras
    keras.utils.set_random_seed(plan.seed)
    device = _device()
    on_line(f"training the {plan.arch} network on {device}, up to {plan.epochs} epochs, batch {plan.batch_size}, "
            f"checkpoints in {ckpt}")
    net = _starting_network(plan, init_weights, train_set, on_line)
    history = _history_so_far(ckpt, resume)
    batches = _training_batches(train_set, soft, views, plan, epoch=len(history))
    schedule = _compile(net, plan, len(batches), smoothing=_smoothing(train_set, plan))
    callbacks = _callbacks(ckpt, plan, _epoch_lines(net, ckpt, val_set, plan.epochs, schedule, history, on_line))
    recipe = _run_recipe(plan, init, votes, val_votes, train_set, teachers)
    (ckpt / "run.json").write_text(json.dumps({**recipe, "device": device, "train_data": str(dataset)}, indent=2))  # a run
    # stopped early is still described (``--average`` reads it); rewritten with the figures at the end
    net.fit(batches, epochs=plan.epochs, callbacks=callbacks, verbose=1 if progress_bar else 0)
    net.load_weights(str(ckpt / "best.weights.h5"))
    best, extra = _record_run(ckpt, history, started, device, train_set, dataset, val, recipe)
    if keras.backend.backend() != "tensorflow":
        metrics = _checkpoint_only(net, val_set, ckpt, val, out, on_line)
        return TrainResult(str(ckpt), len(history), best["epoch"], time.perf_counter() - started, device, metrics, history)
    metrics = _export_run(net, out, val_set, mirror, extra, ckpt, val, on_line)
    return TrainResult(str(out), len(history), best["epoch"], time.perf_counter() - started, device, metrics, history)


def _checked_plan(plan: TrainPlan, teacher) -> list[str]:
    """``train``'s options checked before anything is read or written (a ``ConfigError`` on the first wrong one);
    the teachers (``_teachers``)."""
    if plan.epochs < 1 or plan.batch_size < 1 or not 0 < plan.lr < 1:
        raise ConfigError("--epochs and --batch-size must be at least 1, --lr between 0 and 1")
    _check_arch(plan.arch)
    if not 0 <= plan.distill <= 1:
        raise ConfigError(f"--distill {plan.distill}: expected a weight from 0 to 1")
    if plan.teacher_views < 0 or not plan.teacher_temperature > 0:
        raise ConfigError("--teacher-views must be 0 or more, --teacher-temperature above 0")
    teachers = _teachers(teacher)
    if plan.teacher_views and (not teachers or _engine_teacher(teachers)):
        raise ConfigError("--teacher-views goes with --teacher CKPT ... (finished runs' checkpoint folders)")
    if plan.labels not in LABEL_MODES:
        raise ConfigError(f"--labels {plan.labels}: expected one of {', '.join(LABEL_MODES)}")
    return teachers


def _read_splits(dataset, val, limit: int | None, on_line, teachers: list[str], votes, val_votes,
                 plan: TrainPlan) -> tuple[Dataset, Dataset]:
    """The training and validation faces (``_splits``); with votes and ``plan.labels`` majority, the training faces
    whose top votes tie left out."""
    train_set, val_set = _splits(dataset, val, limit, on_line, keep_raw=_engine_teacher(teachers),
                                 votes=votes, val_votes=val_votes)
    if train_set.votes is not None and plan.labels == "majority":
        train_set = train_set.subset(train_set.scored())
        on_line(f"train: {len(train_set.y)} faces with a majority (tied votes left out)")
    return train_set, val_set


def _teacher_labels(teachers: list[str], train_set: Dataset, plan: TrainPlan,
                    on_line) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(the views the teachers read, or None; their probabilities to mix into the labels, or None without a teacher)."""
    views, soft = None, None
    if plan.teacher_views:
        views, logp = teacher_views(teachers, train_set, plan.teacher_views, on_line)
        soft = soften(logp, plan.teacher_temperature)
    elif teachers:
        soft = teacher_probabilities(teachers, train_set, on_line)
        if plan.teacher_temperature != 1:
            soft = soften(np.log(np.clip(soft, 1e-12, 1.0)), plan.teacher_temperature)
    return views, soft


def _starting_network(plan: TrainPlan, init_weights: Path | None, train_set: Dataset, on_line):
    """The network to train: freshly built, or started from ``--init``'s (an exported model read back from its
    graph, or a finished run's best network, widened when it is the narrower one)."""
    net = build_model(plan.seed, arch=plan.arch)
    if init_weights is not None and init_weights.suffix == ".tflite":
        from emocare.lab.unfold import unfold

        gap = unfold(init_weights, net, train_set.x[:4096])
        on_line(f"starting from the network in {init_weights} (read back from its graph: it answers as the graph "
                f"does, within {gap:.1g})")
    elif init_weights is not None:
        _load_init(net, init_weights, plan.arch)
        on_line(f"starting from {init_weights}" + (f" (its {_arch(init_weights.parent)} network widened)"
                                                    if _arch(init_weights.parent) != plan.arch else ""))
    return net


def _history_so_far(ckpt: Path, resume: bool) -> list[dict]:
    """The epochs an interrupted run already trained (``--resume``), else none."""
    history: list[dict] = []
    hist_path = ckpt / "history.json"
    if resume and hist_path.is_file():
        history = json.loads(hist_path.read_text())
    return history


def _training_batches(train_set: Dataset, soft: np.ndarray | None, views: np.ndarray | None, plan: TrainPlan,
                      epoch: int):
    """The batches Keras trains on (``_batches``): the training faces, or the views the teachers read, with their
    labels and loss weights (``_arrays``)."""
    x, y, weights = _arrays(train_set, soft, plan.distill, plan.labels, plan.class_weights)
    if views is not None:
        x = views
    return _batches(x, y, weights, plan.batch_size, plan.seed, epoch=epoch)


def _run_recipe(plan: TrainPlan, init, votes, val_votes, train_set: Dataset, teachers: list[str]) -> dict:
    """How the run trains, as ``run.json`` and the model's description record it."""
    return {"arch": plan.arch, "seed": plan.seed, "batch_size": plan.batch_size, "lr": plan.lr, "epochs": plan.epochs,
            "init": str(init) if init else None, "class_weights": plan.class_weights,
            "votes": {"train": str(votes), "val": str(val_votes) if val_votes else None, "labels": plan.labels,
                      "left_out": train_set.left_out} if votes else None,
            "teacher": {"model": teachers[0] if _engine_teacher(teachers) else teachers,
                        "weight": plan.distill, "views": plan.teacher_views,
                        "temperature": plan.teacher_temperature} if teachers else None}


def _record_run(ckpt: Path, history: list[dict], started: float, device: str, train_set: Dataset, dataset, val,
                recipe: dict) -> tuple[dict, dict]:
    """(the best epoch, the run's figures for the model's description), the figures also written to ``run.json``."""
    best = max(history, key=lambda h: h["val_accuracy"]) if history else {"epoch": 0}
    extra = {"epochs_run": len(history), "best_epoch": best["epoch"], "train_seconds": round(time.perf_counter() - started),
             "device": device, "train_faces": len(train_set.y), "train_data": str(dataset), "val_data": str(val), **recipe}
    (ckpt / "run.json").write_text(json.dumps({**extra, "val_accuracy": best.get("val_accuracy")}, indent=2))  # --average reads it
    return best, extra


def _checkpoint_only(net, val_set: Dataset, ckpt: Path, val, out: Path, on_line) -> dict:
    """On a Keras backend without TFLite's converter: the best network's figures on val, and how to export it."""
    metrics = classification_metrics(softmax(net.predict(val_set.x[..., None], batch_size=256, verbose=0)), val_set.y)
    on_line(f"the best network (val accuracy {metrics['accuracy']:.1%}, balanced {metrics['balanced_accuracy']:.1%}) "
            f"is in {ckpt}; TFLite export needs TensorFlow: emocare train --average {ckpt} --val {val} --out {out}")
    return metrics


def _export_run(net, out: Path, val_set: Dataset, mirror: bool | None, extra: dict, ckpt: Path, val, on_line) -> dict:
    """The trained network exported to ``out`` (``export``) and its figures said; an ``OutputError`` that points
    at the checkpoint folder when ``out`` cannot be written."""
    try:
        metrics = export(net, out, val_set, mirror=mirror, extra=extra)
    except OSError as exc:  # --out became unwritable while training: the network is safe in its checkpoint folder
        raise OutputError(f"--out {out}: cannot write the model ({exc.strerror or exc}); the trained network is in "
                          f"{ckpt}: emocare train --average {ckpt} --val {val} --out OTHER.tflite exports it") from None
    on_line(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): val accuracy {metrics['accuracy']:.1%}, "
            f"balanced {metrics['balanced_accuracy']:.1%}, ECE {metrics['ece']:.3f} at temperature {metrics['temperature']:.2f}")
    if "votes" in metrics:
        on_line(votes_line(metrics["votes"]))
    return metrics


def _callbacks(ckpt: Path, plan: TrainPlan, lines) -> list:
    """Back up every epoch (``--resume``), stop early, keep the best network on val and print a line an epoch."""
    import keras

    return [  # ``lines`` first: it reads val once and hands val_accuracy on to EarlyStopping
        keras.callbacks.BackupAndRestore(str(ckpt / "backup")),
        lines,
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=plan.patience),
    ]


def val_loss(logits: np.ndarray, y: np.ndarray) -> float:
    """The training loss on val (cross-entropy against label-smoothed one-hot labels, as ``_compile`` sets it),
    unweighted: what Keras reported as val_loss when it read val itself."""
    k = logits.shape[1]
    target = np.full(logits.shape, LABEL_SMOOTHING / k)
    target[np.arange(len(y)), y] += 1.0 - LABEL_SMOOTHING
    return float(-(target * log_softmax(logits.astype(np.float64))).sum(axis=1).mean())


def _compile(model, plan: TrainPlan, steps: int, smoothing: float = LABEL_SMOOTHING):
    """AdamW on a warm-up + cosine schedule, label-smoothed cross-entropy; returns the schedule."""
    import keras

    warm = min(2 * steps, plan.epochs * steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=plan.lr / 20, decay_steps=max(1, plan.epochs * steps - warm), alpha=0.01,
        warmup_target=plan.lr, warmup_steps=warm)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.02),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing),
                  metrics=["accuracy"])
    return schedule


def _epoch_lines(net, ckpt: Path, val_set: Dataset, epochs: int, schedule, history: list[dict], on_line):
    """A callback: after each epoch, val read once (its loss as training counts it, accuracy and balanced
    accuracy; ``val_accuracy`` also goes into the epoch's logs for ``EarlyStopping``), the network saved when val
    accuracy is the best yet (``best.weights.h5``), one line out, the history saved. With votes on val: the loss
    is the cross-entropy against the vote distribution, the accuracies against the most-voted emotion (faces
    whose top votes tie are not scored)."""
    import keras

    from emocare.lab.votes import distribution

    hist_path = ckpt / "history.json"
    scored = val_set.scored()
    y_scored = val_set.y[scored]

    class Lines(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = {} if logs is None else logs
            logits = net.predict(val_set.x[..., None], batch_size=256, verbose=0)
            pred = logits.argmax(axis=1)
            if val_set.votes is None:
                logs["val_loss"] = val_loss(logits, val_set.y)
            else:
                logs["val_loss"] = float(-(distribution(val_set.votes) * log_softmax(logits.astype(np.float64))).sum(axis=1).mean())
            logs["val_accuracy"] = float((pred[scored] == y_scored).mean())
            bal = balanced_accuracy(y_scored, pred[scored])
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            line = EpochLine(epoch + 1, epochs, logs.get("loss", float("nan")), logs.get("accuracy", float("nan")),
                             logs.get("val_loss", float("nan")), logs.get("val_accuracy", float("nan")), bal,
                             float(keras.ops.convert_to_numpy(schedule(step))), time.perf_counter() - self.t0)
            if not history or line.val_accuracy > max(h["val_accuracy"] for h in history):
                net.save_weights(str(ckpt / "best.weights.h5"))
            history.append(asdict(line))
            hist_path.write_text(json.dumps(history))
            on_line(str(line))

    return Lines()
