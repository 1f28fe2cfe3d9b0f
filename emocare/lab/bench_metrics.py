"""What ``emocare bench`` measures besides time: accuracy on labelled faces (recall, confusion, calibration, neutral
faces read as negative), the agreement between two engines, sizes on disk and the machine the bench ran on.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from emocare.faces import EMOTIONS
from emocare.lab.calibration import expected_calibration_error


NEGATIVE = ("angry", "disgust", "fear", "sad")


def accuracy_metrics(truth: Sequence[str], predicted: Sequence[str | None],
                     scores: Sequence[Sequence[float] | None] | None = None) -> dict:
    """Accuracy, balanced accuracy, per-class recall, confusion (rows truth, columns predicted), no-face rate,
    neutral faces read as negative; with ``scores`` (7 probabilities per prediction) the calibration error.

    A missing prediction (``None``: no face found) counts as wrong.
    """
    n = len(truth)
    confusion = [[0] * len(EMOTIONS) for _ in EMOTIONS]
    correct = no_face = 0
    per_total = {e: 0 for e in EMOTIONS}
    per_hit = {e: 0 for e in EMOTIONS}
    for t, p in zip(truth, predicted):
        per_total[t] += 1
        if p is None:
            no_face += 1
            continue
        confusion[EMOTIONS.index(t)][EMOTIONS.index(p)] += 1
        if p == t:
            correct += 1
            per_hit[t] += 1
    recall = {e: per_hit[e] / per_total[e] for e in EMOTIONS if per_total[e]}
    neutral = confusion[EMOTIONS.index("neutral")]
    out = {
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "balanced_accuracy": float(np.mean(list(recall.values()))) if recall else 0.0,
        "per_class_recall": recall,
        "confusion": confusion,
        "no_face_rate": no_face / n if n else 0.0,
        # a care tool's false alarms: neutral faces whose top emotion is angry, disgust, fear or sad
        "neutral_read_negative": (sum(neutral[EMOTIONS.index(e)] for e in NEGATIVE) / sum(neutral)) if sum(neutral) else None,
        "ece": None,
    }
    if scores is not None:
        pairs = [(EMOTIONS.index(t), s) for t, s in zip(truth, scores) if s is not None]
        if pairs:
            out["ece"] = expected_calibration_error(np.array([s for _, s in pairs], float), np.array([t for t, _ in pairs]))
    return out


def agreement(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return sum(x == y for x, y in both) / len(both) if both else None


def dir_size_mb(paths: Sequence[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.is_file()) / 1e6


def footprint_mb(roots: Sequence[str]) -> float:
    """Installed size of ``roots`` and everything they require (their RECORDed files)."""
    import re

    seen: set[str] = set()
    total = 0
    todo = list(roots)
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            try:
                total += (Path(dist.locate_file(f))).stat().st_size
            except OSError:
                pass
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(req)
    return total / 1e6


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("emocare", "fer", "deepface", "tensorflow", "tf-keras", "opencv-python", "ai-edge-litert", "numpy", "onnxruntime"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:  # what ran BlazeFace and emocare's model: LiteRT, or OpenCV's DNN module (the light install)
        from emocare.engines.litert import chosen_runtime

        runtime = chosen_runtime()
    except Exception as exc:  # noqa: BLE001 - an unknown EMOCARE_RUNTIME fails the engine itself, not this record
        runtime = f"unknown ({exc})"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "runtime": runtime, "versions": versions}
