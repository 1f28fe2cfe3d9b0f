"""A ``.tflite`` graph run by OpenCV's DNN module, behind the part of LiteRT's ``Interpreter`` that emocare uses.

The light install (``pip install emocare``) has no LiteRT: BlazeFace, its landmark model and emocare's emotion model
then run here, on the OpenCV that is installed anyway (LiteRT's wheel and its dependencies are 66 MB more; it is
2-3x faster on these graphs and comes with ``emocare[litert]``). OpenCV takes 4-D inputs channels first and answers
4-D outputs channels first: this class turns both back into TFLite's channels-last layout, so callers see LiteRT's
tensors. The graph's inputs and outputs are read from the file itself (``tflite_file``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emocare.engines.tflite_file import GraphInfo, fully_connected_with_bias, read_graph


class GraphNotRunnable(ValueError):
    """OpenCV cannot run this graph (or would run it wrongly)."""


class NotAModel(GraphNotRunnable):
    """The file is no TFLite model, or its structure is damaged."""


class OpenCVInterpreter:
    """``get_input_details``, ``get_output_details``, ``resize_tensor_input``, ``allocate_tensors``, ``set_tensor``,
    ``invoke`` and ``get_tensor``, as LiteRT's ``Interpreter`` answers them, for one ``.tflite`` file.

    ``threads`` goes to ``cv2.setNumThreads``, which is process-wide: in the light install it also sets how many
    threads OpenCV's resizing, optical flow and cascade use (emocare asks the same count everywhere:
    ``EMOCARE_THREADS``, else 2)."""

    runtime = "OpenCV DNN"

    def __init__(self, path: Path | str, threads: int | None = None):
        import cv2

        try:
            self.graph: GraphInfo = read_graph(path)
        except (OSError, ValueError) as exc:
            raise NotAModel(f"not a TFLite model ({exc})") from None
        if fully_connected_with_bias(self.graph):
            raise GraphNotRunnable("its fully connected layer has a bias, which OpenCV's TFLite importer leaves out")
        try:
            self._net = cv2.dnn.readNetFromTFLite(str(path))
        except cv2.error as exc:
            raise GraphNotRunnable(_last_line(exc)) from None
        if threads:
            cv2.setNumThreads(int(threads))
        self._shapes = {t.index: [1 if d < 0 else d for d in t.shape] for t in self.graph.inputs}
        self._inputs: dict[int, np.ndarray] = {}
        self._outputs: dict[int, np.ndarray] = {}
        self._names = [t.name for t in self.graph.outputs]
        self.path = Path(path)

    def _details(self, tensors, shapes=None) -> list[dict]:
        return [{"index": t.index, "name": t.name, "dtype": np.float32,
                 "shape": np.array(shapes[t.index] if shapes else [1 if d < 0 else d for d in t.shape], np.int32),
                 "shape_signature": np.array(t.shape, np.int32)} for t in tensors]

    def get_input_details(self) -> list[dict]:
        return self._details(self.graph.inputs, self._shapes)

    def get_output_details(self) -> list[dict]:
        return self._details(self.graph.outputs)

    def resize_tensor_input(self, index: int, shape) -> None:
        self._shapes[index] = [int(v) for v in shape]

    def allocate_tensors(self) -> None:
        """Nothing to do: OpenCV sizes its buffers from each input it is given."""

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=np.float32)
        if list(value.shape) != self._shapes[index]:
            raise ValueError(f"input {index}: expected shape {self._shapes[index]}, got {list(value.shape)}")
        self._inputs[index] = value

    def invoke(self) -> None:
        import cv2

        for t in self.graph.inputs:
            x = self._inputs[t.index]
            self._net.setInput(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x, t.name)
        try:
            outs = self._net.forward(self._names)
        except cv2.error as exc:  # a graph OpenCV loads but cannot run: found at its first call
            from emocare.errors import ExtraMissing

            raise ExtraMissing(f"{self.path}: OpenCV's DNN module cannot run this model ({_last_line(exc)}): "
                               "pip install 'emocare[litert]'", "litert") from None
        for t, out in zip(self.graph.outputs, outs):
            self._outputs[t.index] = _channels_last(out, t.shape, t.name)

    def get_tensor(self, index: int) -> np.ndarray:
        return self._outputs[index]


def _channels_last(out: np.ndarray, declared: tuple[int, ...], name: str) -> np.ndarray:
    """OpenCV's answer in the layout the graph declares: a 4-D output comes channels first and is turned back;
    any other shape must already match (``-1``: any size)."""
    def fits(shape) -> bool:
        return len(shape) == len(declared) and all(d < 0 or d == v for d, v in zip(declared, shape))

    if out.ndim == 4 and fits(out.shape[:1] + out.shape[2:] + out.shape[1:2]):
        return out.transpose(0, 2, 3, 1)
    if fits(out.shape):
        return out
    raise RuntimeError(f"output {name!r}: OpenCV answered {list(out.shape)}, the graph declares {list(declared)}")


def _last_line(exc: BaseException) -> str:
    """OpenCV's own words from a ``cv2.error``, without its source path and error code."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else type(exc).__name__
    if "error: (" in line:
        line = line.split("error: (", 1)[1]
        line = line.split(") ", 1)[1] if ") " in line else line
    return line
