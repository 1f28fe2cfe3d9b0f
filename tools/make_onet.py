"""Build ``emocare/models/mtcnn/onet.onnx`` (the face check's second network) from the PyPI package ``mtcnn``.

    python -m pip download --no-deps --dest out/mtcnn-wheel mtcnn==0.1.1
    python tools/make_onet.py --wheel out/mtcnn-wheel/mtcnn-0.1.1-py3-none-any.whl

The wheel's ``mtcnn/data/mtcnn_weights.npy`` holds MTCNN's three networks as Keras arrays (MIT, converted by the
package's author from the MTCNN authors' Caffe models). This takes the output network's (ONet's) face/non-face
part, unmodified, and writes it as an ONNX graph that OpenCV's DNN module runs in every install (the graph
returns the two logits, no face and face). It needs the ``onnx`` package, here only.

Before writing, the graph is checked against a plain numpy forward pass written from the Keras definition
(``mtcnn/network/factory.py``: 'same' max pooling pads at the end, the flatten is in height-width-channel
order): both must agree on random inputs to 1e-4. The sha256 printed goes into ``emocare/engines/onet.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

OUT = Path(__file__).resolve().parent.parent / "emocare" / "models" / "mtcnn" / "onet.onnx"
SHAPES = [(3, 3, 3, 32), (32,), (1, 1, 32), (3, 3, 32, 64), (64,), (1, 1, 64), (3, 3, 64, 64), (64,), (1, 1, 64),
          (2, 2, 64, 128), (128,), (1, 1, 128), (1152, 256), (256,), (256,), (256, 2), (2,)]


def onet_arrays(wheel: Path) -> list[np.ndarray]:
    with zipfile.ZipFile(wheel) as z:
        weights = np.load(io.BytesIO(z.read("mtcnn/data/mtcnn_weights.npy")), allow_pickle=True).tolist()
    arrays = [np.asarray(a, np.float32) for a in weights["onet"][:len(SHAPES)]]  # the box and landmark heads left out
    if [a.shape for a in arrays] != SHAPES:
        raise SystemExit(f"{wheel}: ONet's arrays are not the expected shapes")
    return arrays


# -- the numpy reference (Keras layout: N, H, W, C) ------------------------------------------------------------
def _conv(x, k, b):
    kh, kw, cin, cout = k.shape
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))
    n, h, w = win.shape[:3]
    return (win.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, -1) @ k.reshape(-1, cout) + b).reshape(n, h, w, cout)


def _pool(x, size, stride, same):
    if same:
        h, w = x.shape[1:3]
        ph, pw = (max((-(-d // stride) - 1) * stride + size - d, 0) for d in (h, w))
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=-np.inf)
    h, w = x.shape[1:3]
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    return np.max([x[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
                   for i in range(size) for j in range(size)], axis=0)


def _prelu(x, a):
    return np.where(x > 0, x, x * a.reshape(-1))


def reference(w: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """ONet's two logits for ``x`` (N, 48, 48, 3), laid out as the Keras model takes it."""
    x = _pool(_prelu(_conv(x, w[0], w[1]), w[2]), 3, 2, True)
    x = _pool(_prelu(_conv(x, w[3], w[4]), w[5]), 3, 2, False)
    x = _pool(_prelu(_conv(x, w[6], w[7]), w[8]), 2, 2, True)
    x = _prelu(_conv(x, w[9], w[10]), w[11]).reshape(len(x), -1)
    return _prelu(x @ w[12] + w[13], w[14]) @ w[15] + w[16]


# -- the ONNX graph (N, C, H, W) -------------------------------------------------------------------------------
def graph(w: list[np.ndarray]) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def layer(i, x, k, b, a, pool):
        nodes.append(helper.make_node("Conv", [x, const(f"k{i}", k.transpose(3, 2, 0, 1)), const(f"b{i}", b)], [f"c{i}"]))
        nodes.append(helper.make_node("PRelu", [f"c{i}", const(f"a{i}", a.reshape(-1, 1, 1))], [f"p{i}"]))
        if pool is None:
            return f"p{i}"
        size, stride, end = pool  # Keras's 'same' pads only at the end here
        nodes.append(helper.make_node("MaxPool", [f"p{i}"], [f"m{i}"], kernel_shape=[size, size],
                                      strides=[stride, stride], pads=[0, 0, end, end]))
        return f"m{i}"

    x = layer(0, "input", w[0], w[1], w[2], (3, 2, 1))  # 46 -> 23
    x = layer(1, x, w[3], w[4], w[5], (3, 2, 0))  # 21 -> 10, 'valid'
    x = layer(2, x, w[6], w[7], w[8], (2, 2, 0))  # 8 -> 4
    x = layer(3, x, w[9], w[10], w[11], None)
    nodes += [helper.make_node("Transpose", [x], ["hwc"], perm=[0, 2, 3, 1]),  # Keras flattens H, W, C
              helper.make_node("Flatten", ["hwc"], ["flat"], axis=1),
              helper.make_node("Gemm", ["flat", const("w12", w[12]), const("w13", w[13])], ["dense"]),
              helper.make_node("PRelu", ["dense", const("w14", w[14])], ["dense_p"]),
              helper.make_node("Gemm", ["dense_p", const("w15", w[15]), const("w16", w[16])], ["logits"])]
    model = helper.make_model(
        helper.make_graph(nodes, "mtcnn_onet", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 48, 48])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits),
        opset_imports=[helper.make_opsetid("", 13)], producer_name="emocare tools/make_onet.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check(w: list[np.ndarray], data: bytes) -> float:
    """The largest difference between OpenCV's run of the graph and the numpy reference, on random inputs."""
    import cv2

    net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        x = rng.uniform(-1, 1, (1, 48, 48, 3)).astype(np.float32)
        net.setInput(x.transpose(0, 3, 1, 2).copy())
        worst = max(worst, float(np.abs(net.forward() - reference(w, x)).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, required=True, help="mtcnn-0.1.1-py3-none-any.whl")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    w = onet_arrays(args.wheel)
    data = graph(w)
    worst = check(w, data)
    if worst > 1e-4:
        print(f"OpenCV's run differs from the reference by {worst:g}: not written", file=sys.stderr)
        return 1
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()} "
          f"(OpenCV against the reference: {worst:.1e} at most)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
