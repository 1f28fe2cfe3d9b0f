"""How the shipped engine reads the network's scores, chosen on the validation split: the blend weight of FER's
network and a bias on two log-scores (``choose_head`` against the folder labels, ``choose_head_votes`` against
FER+ votes).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from emocare.engines.emocare_model import blend
from emocare.faces import EMOTIONS


def choose_head(log_ours: np.ndarray, log_fer: np.ndarray | None, y: np.ndarray) -> tuple[float, np.ndarray]:
    """How the shipped engine turns the network's scores into an answer, chosen on ``y``: the blend weight of
    FER's model (0 to 0.5) and a bias on two log-scores (neutral's and fear's, 0 to 1 each).

    The most accurate choice that still recalls at least half of the afraid faces (the rarest negative
    emotion a care tool must see; else the most accurate). A blend must win by half a point to be used (one
    model is simpler and faster). Measured on the final model: also requiring at most 15% of neutral faces
    read as negative needed a neutral bias of 0.9, which cost 2 points of accuracy and pulled sad faces to
    neutral so far that a sustained sad stretch was never comforted; that requirement was dropped.
    """
    neutral, fear = EMOTIONS.index("neutral"), EMOTIONS.index("fear")
    afraid = y == fear

    def judge(pred: np.ndarray) -> tuple[float, float]:  # (0 when afraid faces are seen, else 1; accuracy)
        seen = not afraid.any() or float((pred[afraid] == fear).mean()) >= 0.5
        return (0.0 if seen else 1.0), float((pred == y).mean())

    steps = [round(v, 1) for v in np.arange(0.0, 1.01, 0.1)]
    return _search_head(log_ours, log_fer, (neutral, fear), steps, judge, lambda bn, bf: (bn, bf))


def _search_head(log_ours: np.ndarray, log_fer: np.ndarray | None, classes: tuple[int, int], steps: list[float],
                 judge: Callable[[np.ndarray], tuple[float, float]],
                 size: Callable[[float, float], tuple]) -> tuple[float, np.ndarray]:
    """The grid both heads are chosen on: every blend weight of FER's network (0, or 0.1 to 0.5 when it is in
    the graph) with every bias in ``steps`` on the two ``classes``' log-scores. ``judge(predictions)`` gives
    (how far the choice misses its limits, accuracy): among the choices that miss least, the most accurate,
    then the lightest blend, then the smallest ``size(b1, b2)``. A blend must win by half a point (one model is
    simpler and faster)."""
    weights = [0.0] + ([0.1, 0.2, 0.3, 0.4, 0.5] if log_fer is not None else [])
    judged = {}
    for w in weights:
        base = blend(log_ours, log_fer, w, 0.0)
        for b1 in steps:
            for b2 in steps:
                bias = np.zeros(len(EMOTIONS))
                bias[classes[0]], bias[classes[1]] = b1, b2
                judged[(w, b1, b2)] = judge((base + bias).argmax(axis=1))
    least = min(miss for miss, _ in judged.values())
    pool = [k for k, (miss, _) in judged.items() if miss <= least]
    rank = lambda k: (judged[k][1], -k[0], *(-v for v in size(k[1], k[2])))  # noqa: E731
    best = max(pool, key=rank)
    alone = [k for k in pool if k[0] == 0.0]
    if alone:
        single = max(alone, key=rank)
        if judged[best][1] < judged[single][1] + 0.005:
            best = single
    bias = np.zeros(len(EMOTIONS))
    bias[classes[0]], bias[classes[1]] = best[1], best[2]
    return best[0], bias


HEAD_LIMITS = {"clearly_neutral_read_negative": 0.10, "sad_read_negative": 0.85}  # with votes, on val: the care
# targets (at most 10% of calm faces read as negative, at least 85% of sad ones seen as negative)


def choose_head_votes(log_ours: np.ndarray, log_fer: np.ndarray | None, counts: np.ndarray) -> tuple[float, np.ndarray]:
    """``choose_head`` against FER+ votes: the blend weight of FER's network (0 to 0.5) and a bias on the
    neutral and sad log-scores (-0.5 to 0.5 each), the most accurate against the most-voted emotion among the
    choices that read at most 10% of clearly neutral faces and at least 85% of sad faces as negative
    (``HEAD_LIMITS``); when none does, the one that misses those limits least. A blend must win by half a
    point (one model is simpler and faster); of equal choices the smallest bias wins."""
    from emocare.lab.votes import vote_metrics

    neutral, sad = EMOTIONS.index("neutral"), EMOTIONS.index("sad")

    def judge(pred: np.ndarray) -> tuple[float, float]:  # (how far outside HEAD_LIMITS; majority accuracy)
        m = vote_metrics(_onehot(pred), counts)
        miss = (max(0.0, m["clearly_neutral_read_negative"] - HEAD_LIMITS["clearly_neutral_read_negative"])
                + max(0.0, HEAD_LIMITS["sad_read_negative"] - m["sad_read_negative"]))
        return miss, m["majority_accuracy"]

    steps = [round(v, 1) for v in np.arange(-0.5, 0.51, 0.1)]
    return _search_head(log_ours, log_fer, (neutral, sad), steps, judge, lambda bn, bs: (abs(bn) + abs(bs),))


def votes_line(m: dict) -> str:
    """One line of ``vote_metrics``: what a care tool must get right against the annotators."""
    return (f"against the votes: majority accuracy {m['majority_accuracy']:.1%}, balanced {m['balanced_accuracy']:.1%}, "
            f"clearly neutral read as negative {m['clearly_neutral_read_negative']:.1%}, sad read as negative "
            f"{m['sad_read_negative']:.2f}, cross-entropy {m['cross_entropy']:.3f}, ECE {m['ece']:.3f}")


def _onehot(pred: np.ndarray) -> np.ndarray:
    return np.eye(len(EMOTIONS))[pred]


def _head_accuracy(log_ours, log_fer, weight: float, bias: np.ndarray, y: np.ndarray) -> float:
    return float((blend(log_ours, log_fer, weight, bias).argmax(axis=1) == y).mean())
