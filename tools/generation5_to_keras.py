"""Generation 5's teachers (PyTorch state dicts written by ``tools/gpu_generation5.py``) as emocare checkpoint
folders, so that ``emocare train --teacher CKPT`` reads them on any machine, with no PyTorch installed.

    python3 tools/generation5_to_keras.py TEACHER.pt ARCH OUT.ckpt     # ARCH: vgg10 or resnet18

A ``.pt`` file is a zip holding a pickle whose tensors point at raw storage files beside it; this reads it with
the standard library and NumPy (only the few classes a state dict of tensors needs are allowed), puts every
weight in the layer of ``emocare.lab.train.build_model(arch=ARCH)`` named after it (PyTorch's (out, in, h, w)
kernels as Keras' (h, w, in, out)), and writes ``best.weights.h5``, ``arch.json`` and ``run.json``.
``tests/test_emocare_model.py`` checks it on a small file.
"""
import collections
import json
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

STORAGES = {"HalfStorage": np.float16, "FloatStorage": np.float32, "DoubleStorage": np.float64,
            "LongStorage": np.int64, "IntStorage": np.int32}


def load_state_dict(path) -> dict[str, np.ndarray]:
    """A ``torch.save(state_dict)`` file as NumPy arrays (float32 for floating-point tensors)."""
    z = zipfile.ZipFile(path)
    root = z.namelist()[0].split("/")[0]

    def rebuild(storage, offset, size, stride, *_):
        if not size:
            return storage[offset:offset + 1].reshape(()).copy()
        return np.lib.stride_tricks.as_strided(storage[offset:], size, [s * storage.itemsize for s in stride]).copy()

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return rebuild
            if module == "torch" and name in STORAGES:
                return name
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"{path}: {module}.{name} is not part of a state dict of tensors")

        def persistent_load(self, pid):
            _, storage, key, _, numel = pid
            return np.frombuffer(z.read(f"{root}/data/{key}"), STORAGES[storage])[:numel]

    state = Unpickler(z.open(f"{root}/data.pkl")).load()
    return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in state.items()}


def to_keras(state: dict[str, np.ndarray], arch: str):
    """``build_model(arch=arch)`` holding ``state``'s weights (every layer with weights must find them)."""
    from emocare.lab.train import build_model

    net = build_model(0, arch=arch)
    for layer in net.layers:
        if not layer.weights:
            continue
        key = layer.name
        if type(layer).__name__ == "BatchNormalization":
            weights = [state[f"{key}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
        elif type(layer).__name__ == "Dense":
            weights = [state[f"{key}.weight"].T, state[f"{key}.bias"]]
        else:
            weights = [state[f"{key}.weight"].transpose(2, 3, 1, 0)]
        layer.set_weights(weights)
    return net


def convert(pt, arch: str, out) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = to_keras(load_state_dict(pt), arch)
    net.save_weights(str(out / "best.weights.h5"))
    (out / "arch.json").write_text(json.dumps({"arch": arch}))
    (out / "run.json").write_text(json.dumps({"arch": arch, "converted_from": str(pt),
                                              "trained_by": "tools/gpu_generation5.py"}, indent=2))
    return out


if __name__ == "__main__":
    if "--help" in sys.argv[1:]:
        sys.exit(print(__doc__))
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    print(convert(sys.argv[1], sys.argv[2], sys.argv[3]))
