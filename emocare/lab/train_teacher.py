"""Distillation (``--teacher``): a teacher's probabilities on every training face, from one emocare model read by
its engine or from finished runs' networks averaged, on the faces, their mirror images and augmented copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emocare.engines.crops import INPUT
from emocare.engines.emocare_model import log_softmax, softmax
from emocare.errors import ConfigError
from emocare.lab.train_data import Dataset, _graph_inputs, augment
from emocare.lab.train_runs import _best_weights, _ensemble


def _teachers(teacher) -> list[str]:
    """``--teacher``: one emocare model (.tflite) or finished runs' checkpoint folders, as strings."""
    if teacher is None:
        return []
    found = [str(t) for t in (teacher if isinstance(teacher, (list, tuple)) else [teacher])]
    models = [t for t in found if t.endswith(".tflite")]
    if models and len(found) > 1:
        raise ConfigError("--teacher: either one emocare model (.tflite) or finished runs' checkpoint folders, not both")
    for t in found:
        if not t.endswith(".tflite"):
            _best_weights(t, None)  # a finished run, or a one-line error
    return found


def _engine_teacher(teachers: list[str]) -> bool:
    """The teacher is one emocare model, read by its engine from the grey crops (``_teachers`` keeps it alone)."""
    return len(teachers) == 1 and teachers[0].endswith(".tflite")


def teacher_probabilities(teachers, data: Dataset, on_line=print) -> np.ndarray:
    """The teacher's probabilities on every face of ``data``, (N, 7). One emocare model (.tflite): calibrated, as
    its engine reads them (blend, bias, mirror image and temperature from its description). Finished runs'
    checkpoint folders: their networks' log-probabilities on each face and its mirror image, averaged."""
    teachers = _teachers(teachers)
    if _engine_teacher(teachers):
        from emocare.engines.emocare_model import EmocareNet

        net = EmocareNet(Path(teachers[0]))
        on_line(f"teacher {teachers[0]}: reading the {len(data.y)} training faces")
        x = _graph_inputs(net, data)
        probs = np.concatenate([net.predict(x[i:i + 256]) for i in range(0, len(x), 256)])
    else:
        on_line(f"teacher: {len(teachers)} run{'s' if len(teachers) > 1 else ''} averaged, reading the {len(data.y)} "
                f"training faces and their mirror images")
        probs = softmax(np.mean(_read_views(teachers, np.stack([data.x, data.x[:, :, ::-1]])), axis=0))
    on_line(f"teacher agrees with the training labels on {float((probs.argmax(axis=1) == data.y).mean()):.1%} of them")
    return probs.astype(np.float32)


VIEW_SEED = 700  # teacher_views' augmented copies: the same for every run (they are a property of the data)


def teacher_views(teachers, data: Dataset, views: int, on_line=print) -> tuple[np.ndarray, np.ndarray]:
    """Faces and what the teachers (finished runs' checkpoint folders, averaged) make of them, for distillation
    on augmented faces: each training face, its mirror image and ``views`` augmented copies (``augment``),
    (2 + views, N, 48, 48), and the teachers' log-probabilities on each, (2 + views, N, 7).

    Large teachers trained long know their training faces by heart (the generation-5 teachers name the label of
    95-98% of them, nearly always with more than 99% certainty), so their output on those very faces teaches
    little beyond the label; on turned, shifted, zoomed and partly erased copies they answer as they would on a
    new face, and that likeness between emotions is what a student learns from. The teachers read every view
    once, before training (reading each augmented batch anew would cost them most of the training time on a CPU).
    """
    n = len(data.y)
    faces = np.empty((2 + views, n, INPUT, INPUT), np.float32)
    faces[0], faces[1] = data.x, data.x[:, :, ::-1]
    for k in range(views):
        for i in range(0, n, 1024):
            faces[2 + k, i:i + 1024] = augment(data.x[i:i + 1024], np.random.default_rng((VIEW_SEED + k, i)))
    on_line(f"teacher: {len(teachers)} run{'s' if len(teachers) > 1 else ''} averaged, reading the {n} training "
            f"faces, their mirror images and {views} augmented cop{'y' if views == 1 else 'ies'} of each")
    logp = _read_views(teachers, faces)
    agree = [float((v.argmax(axis=1) == data.y).mean()) for v in logp]
    on_line("teacher agrees with the training labels on " + ", ".join(f"{a:.1%}" for a in agree)
            + " of them (the faces, their mirror images, the augmented copies)")
    return faces, logp.astype(np.float32)


def _read_views(teachers: list[str], faces: np.ndarray) -> np.ndarray:
    """Finished runs' networks (checkpoint folders, ``_teachers`` checked each) averaged, on every view of every
    face: (V, N, 48, 48) in, their log-probabilities (V, N, 7) out."""
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():
        import keras  # noqa: F401  (quietly, before _ensemble imports it)
    ensemble = _ensemble([Path(t) / "best.weights.h5" for t in teachers])
    return np.stack([log_softmax(ensemble.predict(v[..., None], batch_size=512, verbose=0)) for v in faces])


def soften(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities from (teacher) log-probabilities at ``temperature`` (> 1 spreads them: Hinton et al. 2015)."""
    return softmax(np.asarray(log_probs, np.float64) / temperature).astype(np.float32)
