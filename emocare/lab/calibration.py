"""Calibration: how honest a model's probabilities are (ECE), and the temperature that makes them so.

Used by ``emocare train`` (to fit the shipped model's temperature) and by
``emocare bench`` (to report every engine's ECE).
"""

from __future__ import annotations

import math

import numpy as np

from emocare.engines.emocare_model import softmax


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood (golden-section search on log T). ``y``: the
    class of each row (N,), or a distribution over the classes for each (N, K), such as annotators' votes."""
    y = np.asarray(y)
    target = y.astype(np.float64) if y.ndim == 2 else np.eye(logits.shape[1])[y]

    def nll(log_t: float) -> float:
        p = softmax(logits / math.exp(log_t))
        return float(-(target * np.log(np.clip(p, 1e-12, None))).sum(axis=1).mean())

    a, b = math.log(0.2), math.log(5.0)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    for _ in range(60):
        if nll(c) < nll(d):
            b = d
        else:
            a = c
        c, d = b - g * (b - a), a + g * (b - a)
    return math.exp((a + b) / 2)


ECE_LIMIT = 0.03  # with votes: the expected calibration error against the majority a temperature may reach (the
# target is 0.05: the margin is for faces it was not fitted on)


def fit_temperature_votes(logits: np.ndarray, shares: np.ndarray, y: np.ndarray, scored: np.ndarray,
                          limit: float = ECE_LIMIT, steps: int = 60) -> float:
    """With annotators' votes (``shares``: each face's vote distribution, ``emocare.lab.votes.distribution``): the
    temperature whose probabilities come closest to them (least cross-entropy), brought back towards the one fitted to the most-voted emotion (``y`` where
    ``scored``) until the expected calibration error against that emotion is at most ``limit``.

    The two pull apart: fitted to the votes, the probabilities say how far annotators agree (a face 6 votes sad and
    4 neutral gets about 0.6 sad) and are under-confident about the emotion they name; fitted to the majority,
    they say how often the top emotion is right. The highest temperature between them that stays calibrated on
    the majority keeps most of what the votes say."""
    t_major = fit_temperature(logits[scored], y[scored])
    t_votes = fit_temperature(logits, shares)
    best = t_major
    for t in np.geomspace(t_major, t_votes, steps + 1)[1:]:
        if expected_calibration_error(softmax(logits[scored] / t), y[scored]) > limit:
            break
        best = float(t)
    return best


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)
