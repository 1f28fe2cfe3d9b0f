"""The training data of ``emocare train``: the faces read and preprocessed (``Dataset``, ``load_dataset``), their
augmentation, the labels and loss weights each face is taught with, and the shuffled batches Keras reads.

Every image goes through ``crops.preprocess``, the same function the engine uses on a detected face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from emocare.engines.crops import INPUT, preprocess
from emocare.errors import InputError
from emocare.faces import EMOTIONS
from emocare.settings import TrainPlan


@dataclass
class Dataset:
    x: np.ndarray  # (N, 48, 48) float32, preprocessed
    y: np.ndarray  # (N,) int, index into EMOTIONS: the folder's label, or with votes the most-voted emotion
    skipped: list[str] = field(default_factory=list)
    raw: list[np.ndarray] = field(default_factory=list)  # the grey images as read (for FER's own preprocessing)
    votes: np.ndarray | None = None  # (N, 7) FER+ vote counts (``votes.read_votes``), when a votes file was given
    left_out: dict[str, int] = field(default_factory=dict)  # faces the votes rule left out, by reason
    folder: np.ndarray | None = None  # (N,) with votes: the folder's (FER2013's) label, kept as a second score

    def subset(self, keep: np.ndarray) -> "Dataset":
        """The faces where ``keep`` (a bool mask) is true."""
        raw = [r for r, k in zip(self.raw, keep) if k] if self.raw else []
        return Dataset(self.x[keep], self.y[keep], self.skipped, raw, None if self.votes is None else self.votes[keep],
                       self.left_out, None if self.folder is None else self.folder[keep])

    def scored(self) -> np.ndarray:
        """Which faces a label scores: all of them, or with votes those with a majority (no tie at the top)."""
        from emocare.lab.votes import NO_MAJORITY, majority

        return np.ones(len(self.y), bool) if self.votes is None else majority(self.votes) != NO_MAJORITY

    def counts(self) -> dict[str, int]:
        return {label: int((self.y == i).sum()) for i, label in enumerate(EMOTIONS)}


def load_dataset(path: Path | str, on_progress: Callable[[int, int], None] | None = None,
                 keep_raw: bool = False, votes: Path | str | None = None) -> Dataset:
    """Every face of ``path`` through ``preprocess``; ``keep_raw`` also keeps the grey images (val, and the faces a
    teacher reads: the export and the teacher read them through the engine's own ``EmocareNet.preprocess``).
    ``votes``: a FER+ votes file for these faces (``emocare.lab.votes``): each face gets its counts and its
    most-voted emotion as ``y``; faces the rule drops or without a row are left out (counted in ``left_out``)."""
    import cv2

    from emocare.lab.datasets import dataset_root, labelled_images

    rows = [(p, EMOTIONS.index(label)) for p, label in labelled_images(path)]
    counts: list[np.ndarray] = []
    left_out: dict[str, int] = {}
    if votes is not None:
        from emocare.lab.votes import read_votes

        table, root = read_votes(votes), dataset_root(path)
        voted = []
        for p, label in rows:
            c = table.get(p, root)
            if c is None:
                why = table.why_not(p, root)
                left_out[why] = left_out.get(why, 0) + 1
            else:
                voted.append((p, label))
                counts.append(c)
        if not voted:
            raise InputError(f"{votes}: none of its rows names an image of {path} (paths are relative to {root})", str(votes))
        rows = voted
    xs, ys, skipped, raw, kept = [], [], [], [], []
    for k, (p, label) in enumerate(rows):
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None or img.size == 0:
            skipped.append(str(p))
        else:
            xs.append(preprocess(img))
            ys.append(label)
            kept.append(k)
            if keep_raw:
                raw.append(img)
        if on_progress and (k % 500 == 0 or k == len(rows) - 1):
            on_progress(k + 1, len(rows))
    if not xs:
        raise InputError(f"{path}: none of its {len(rows)} images could be read", str(path))
    y = np.asarray(ys, np.int64)
    if not counts:
        return Dataset(np.stack(xs).astype(np.float32), y, skipped, raw)
    vote_counts = np.stack([counts[k] for k in kept]).astype(np.float32)
    return Dataset(np.stack(xs).astype(np.float32), vote_counts.argmax(axis=1).astype(np.int64), skipped, raw,
                   vote_counts, left_out, folder=y)


def _splits(dataset, val, limit: int | None, on_line, keep_raw: bool = False, votes=None,
            val_votes=None) -> tuple[Dataset, Dataset]:
    on_line(f"reading {dataset} and {val}")
    train_set = load_dataset(dataset, keep_raw=keep_raw, votes=votes)
    val_set = load_dataset(val, keep_raw=True, votes=val_votes)
    if limit:
        train_set, val_set = (d.subset(np.arange(len(d.y)) < limit) for d in (train_set, val_set))
    for name, d in (("train", train_set), ("val", val_set)):
        skipped = f", {len(d.skipped)} unreadable skipped" if d.skipped else ""
        left = "".join(f", {n} left out ({why})" for why, n in d.left_out.items())
        labels = " (most-voted emotions)" if d.votes is not None else ""
        on_line(f"{name}: {len(d.y)} faces {d.counts()}{labels}{skipped}{left}")
    return train_set, val_set


def augment(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training batch augmented: (N, 48, 48) preprocessed faces in, new arrays out. Half of the faces mirrored;
    each turned up to ±18°, zoomed up to ±10% and shifted up to 10% (edges reflected); on half of them a 6-22 px
    rectangle erased (set to the mean). Plain NumPy and OpenCV on the CPU, so the same code feeds Keras on any
    backend (TensorFlow here, JAX or PyTorch on a GPU)."""
    import cv2

    n = len(faces)
    out = np.empty_like(faces)
    flip = rng.random(n) < 0.5
    angle = rng.uniform(-18.0, 18.0, n)
    scale = 1.0 + rng.uniform(-0.1, 0.1, n)
    shift = rng.uniform(-0.1, 0.1, (n, 2)) * INPUT
    erase = rng.random(n) < 0.5
    size = rng.uniform(6.0, 22.0, (n, 2))
    centre = rng.uniform(0.0, INPUT, (n, 2))
    c = (INPUT - 1) / 2.0
    for i in range(n):
        face = faces[i, :, ::-1] if flip[i] else faces[i]
        m = cv2.getRotationMatrix2D((c, c), float(angle[i]), float(scale[i]))
        m[:, 2] += shift[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(face), m, (INPUT, INPUT), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
        if erase[i]:
            (h, w), (cy, cx) = size[i], centre[i]
            out[i, max(0, int(cy - h / 2)):max(0, int(cy + h / 2)), max(0, int(cx - w / 2)):max(0, int(cx + w / 2))] = 0.0
    return out


def _batches(x: np.ndarray, y: np.ndarray, weights: np.ndarray, batch_size: int, seed: int, epoch: int = 0):
    """Shuffled training batches (a ``keras.utils.PyDataset``: any backend). ``x`` (N, 48, 48): each batch
    augmented afresh (``augment``). ``x`` (V, N, 48, 48) with ``y`` (V, N, 7): the fixed views a teacher read
    (``teacher_views``), one taken at random for each face each time, with that view's label, and mirrored half
    the time (the teachers read a face and its mirror image alike). Each batch's randomness comes from (seed,
    epoch, batch), so a run is repeatable whatever thread builds a batch; ``epoch``: the first one (a resumed run
    goes on with new batches)."""
    import keras

    n = len(weights)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=4, use_multiprocessing=False)
            self.epoch = epoch - 1
            self.on_epoch_end()

        def __len__(self):
            return max(1, math.ceil(n / batch_size))

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            rng = np.random.default_rng((seed, self.epoch, i))
            if x.ndim == 3:
                return augment(x[idx], rng)[..., None], y[idx], weights[idx]
            view = rng.integers(0, len(x), len(idx))
            faces = x[view, idx]
            flip = rng.random(len(idx)) < 0.5
            faces[flip] = faces[flip][:, :, ::-1]
            return faces[..., None], y[view, idx], weights[idx]

        def on_epoch_end(self):  # the next epoch: its own order
            self.epoch += 1
            self.order = np.random.default_rng((seed, self.epoch)).permutation(n)

    return Batches()


def _graph_inputs(net, data: Dataset) -> np.ndarray:
    """Every face of ``data`` (its grey crops, ``keep_raw``) as ``net``'s engine prepares it (``EmocareNet.preprocess``)."""
    return np.stack([net.preprocess(f, (0, 0, f.shape[1], f.shape[0]), crop_only=True) for f in data.raw])


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-class loss weights ~ 1/sqrt(count), mean 1 over the classes present (the rare ``disgust`` counts more)."""
    counts = np.bincount(y, minlength=len(EMOTIONS)).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = 1.0 / np.sqrt(counts[present])
    weights *= present.sum() / weights[present].sum() if present.any() else 1.0
    return weights


LABEL_MODES = ("soft", "majority")  # --labels: with --votes, what a face is taught


def _arrays(train_set: Dataset, soft: np.ndarray | None, distill: float, labels: str = "soft",
            weighted: bool = True):
    """(training faces, their labels, their loss weights).

    The label of a face is its class, one-hot, or with votes (``labels`` soft) its vote distribution.
    ``soft``: a teacher's probabilities per training face (N, 7), or per view of each (V, N, 7), mixed into
    those labels with ``distill``. ``weighted``: each face's loss weighed by its class (``class_weights``)."""
    from emocare.lab.votes import distribution

    k = len(EMOTIONS)
    weights = (class_weights(train_set.y)[train_set.y] if weighted else np.ones(len(train_set.y))).astype(np.float32)
    y = np.eye(k, dtype=np.float32)[train_set.y]
    if train_set.votes is not None and labels == "soft":
        y = distribution(train_set.votes).astype(np.float32)
    if soft is not None:
        y = ((1 - distill) * y + distill * soft).astype(np.float32)
    return train_set.x, y, weights


LABEL_SMOOTHING = 0.1  # one label per face (a folder's, or the most-voted emotion): 0.1 of it spread


def _smoothing(train_set: Dataset, plan: TrainPlan) -> float:
    """Vote distributions are soft already: no smoothing on top of them."""
    return 0.0 if train_set.votes is not None and plan.labels == "soft" else LABEL_SMOOTHING
