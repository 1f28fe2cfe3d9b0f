"""FER+ votes: ten annotators per FER2013 face (Barsoum et al. 2016, microsoft/FERPlus, MIT).

A votes file is a CSV with a header: ``path`` (the image, relative to the
dataset folder it describes, e.g. ``sad/PublicTest_1.jpg``), optionally
``ferplus_name``, then the ten FER+ counts ``neutral, happiness, surprise,
sadness, anger, disgust, fear, contempt, unknown, NF``.

The rule that turns ten counts into emocare's seven emotions (one place, used
by ``emocare train --votes`` and ``emocare bench --votes``):

- ``contempt`` is not one of emocare's emotions: its votes are set aside;
- a face whose largest count is ``unknown`` or ``NF`` (not a face) is dropped
  (ties with an emotion keep the face), as is a face with no vote for any of
  the seven;
- the remaining counts, renormalised over the seven, are the face's vote
  distribution (the soft label); the emotion with the most votes is its
  majority label, and a face whose top count is tied has no majority (it is
  left out of majority training and of the majority scores, never guessed);
- a face without a row is left out.

``clearly neutral``: at least 70% of the face's emotion votes are neutral; a
``sad`` face (for sadness seen as negative): at least 50% are sad.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emocare.errors import InputError
from emocare.faces import EMOTIONS
from emocare.lab.calibration import expected_calibration_error

# FER+'s column names, in emocare's EMOTIONS order
FERPLUS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "sad": "sadness",
           "surprise": "surprise", "neutral": "neutral"}
OTHER = ("contempt", "unknown", "NF")
NEGATIVE = ("angry", "disgust", "fear", "sad")
CLEARLY_NEUTRAL = 0.7  # share of neutral votes that makes a face clearly calm
SAD_SHARE = 0.5  # share of sad votes that makes a face sad
NO_MAJORITY = -1


@dataclass
class VoteTable:
    """The faces of one votes file: image path (relative, '/'-separated) -> seven counts, in EMOTIONS order."""

    source: str
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # faces the rule left out (path -> why)

    def __len__(self) -> int:
        return len(self.counts)

    def get(self, image: Path | str, root: Path | str) -> np.ndarray | None:
        """The counts of ``image`` (a file under ``root``, the dataset folder or the CSV's folder), or None."""
        return self.counts.get(self.key(image, root))

    def why_not(self, image: Path | str, root: Path | str) -> str:
        """Why ``image`` has no counts: the rule's reason, or no row."""
        return self.dropped.get(self.key(image, root), "no votes row")

    @staticmethod
    def key(image: Path | str, root: Path | str) -> str:
        try:
            return Path(image).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            return Path(image).as_posix()


def read_votes(path: Path | str) -> VoteTable:
    """Every face of a votes file, by the rule above; a malformed row is an ``InputError`` naming ``file:line``."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: cannot read the votes file ({exc})", str(p)) from None
    if not rows:
        raise InputError(f"{p}: empty votes file (expected a header: path, then the FER+ vote columns)", str(p))
    header = [h.strip() for h in rows[0]]
    wanted = ["path", *FERPLUS.values(), *OTHER]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise InputError(f"{p}:1: not a FER+ votes header: missing {', '.join(missing)}", str(p))
    col = {name: header.index(name) for name in wanted}
    table = VoteTable(str(p))
    for n, row in enumerate(rows[1:], 2):
        if not row or not "".join(row).strip():
            continue
        try:
            values = {name: float(row[col[name]]) for name in wanted[1:]}
        except (IndexError, ValueError):
            raise InputError(f"{p}:{n}: expected a count in every FER+ column", str(p)) from None
        if any(not math.isfinite(v) or v < 0 for v in values.values()):
            raise InputError(f"{p}:{n}: a vote count is negative or not a number", str(p))
        seven = np.array([values[FERPLUS[e]] for e in EMOTIONS], np.float64)
        key = row[col["path"]].strip().replace("\\", "/")
        if max(values["unknown"], values["NF"]) > seven.max():
            table.dropped[key] = "unknown or not a face"
        elif seven.sum() <= 0:
            table.dropped[key] = "no emotion vote"
        else:
            table.counts[key] = seven
    if not table.counts:
        raise InputError(f"{p}: no face with an emotion vote", str(p))
    return table


def distribution(counts: np.ndarray) -> np.ndarray:
    """Vote counts (N, 7) as probabilities (N, 7)."""
    counts = np.asarray(counts, np.float64)
    return counts / counts.sum(axis=-1, keepdims=True)


def majority(counts: np.ndarray) -> np.ndarray:
    """The index of each face's most-voted emotion, or ``NO_MAJORITY`` where the top count is tied."""
    counts = np.asarray(counts, np.float64)
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top).sum(axis=1) > 1
    return np.where(tied, NO_MAJORITY, counts.argmax(axis=1))


def vote_metrics(probs: np.ndarray, counts: np.ndarray, bins: int = 15) -> dict:
    """An engine's probabilities (N, 7; a row of NaN where it found no face, which counts as wrong) scored
    against the votes (N, 7 counts): FER+ majority accuracy and balanced accuracy, clearly-neutral faces read
    as negative, sad faces read as negative, cross-entropy against the vote distribution, ECE against the
    majority."""
    probs, target = np.asarray(probs, np.float64), distribution(counts)
    found = np.isfinite(probs).all(axis=1)
    pred = np.where(found, np.nan_to_num(probs).argmax(axis=1), -2)
    neg = [EMOTIONS.index(e) for e in NEGATIVE]
    major = majority(counts)
    has = major != NO_MAJORITY
    recalls = {e: float((pred[major == i] == i).mean()) for i, e in enumerate(EMOTIONS) if (major == i).any()}
    calm = target[:, EMOTIONS.index("neutral")] >= CLEARLY_NEUTRAL
    sad = target[:, EMOTIONS.index("sad")] >= SAD_SHARE
    p = np.clip(np.where(found[:, None], probs, 1.0 / len(EMOTIONS)), 1e-7, 1.0)
    return {
        "n": int(len(counts)),
        "n_majority": int(has.sum()),
        "majority_accuracy": float((pred[has] == major[has]).mean()) if has.any() else None,
        "balanced_accuracy": float(np.mean(list(recalls.values()))) if recalls else None,
        "recall": recalls,
        "n_clearly_neutral": int(calm.sum()),
        "clearly_neutral_read_negative": float(np.isin(pred[calm], neg).mean()) if calm.any() else None,
        "n_sad": int(sad.sum()),
        "sad_read_negative": float(np.isin(pred[sad], neg).mean()) if sad.any() else None,
        "cross_entropy": float(-(target * np.log(p)).sum(axis=1).mean()),
        "ece": expected_calibration_error(p[has & found], major[has & found], bins) if (has & found).any() else None,
        "no_face_rate": float((~found).mean()),
    }
