"""What a ``.tflite`` file declares, read with the standard library: its input and output tensors (index, name,
shape) and the operators it uses.

OpenCV's DNN module runs a TFLite graph but does not say which tensors are its inputs and outputs; this reader does,
without the ``flatbuffers`` package or LiteRT. A TFLite file is a FlatBuffer (schema: TensorFlow's
``tensorflow/compiler/mlir/lite/schema/schema.fbs``): a table is an int32 offset back to its vtable, whose uint16
entries locate each field; a vector is a uint32 length followed by its items; a reference field holds a uint32
offset from where it is stored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

# BuiltinOperator codes this module names (schema.fbs)
FULLY_CONNECTED = 9
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS = 1, 2
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_SHAPE, _TENSOR_NAME, _TENSOR_SHAPE_SIGNATURE = 0, 3, 7
_OPCODE_DEPRECATED, _OPCODE_BUILTIN = 0, 3
_OPERATOR_OPCODE_INDEX, _OPERATOR_INPUTS = 0, 1


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]  # -1 where the graph leaves a size open (the batch)


@dataclass(frozen=True)
class GraphInfo:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    operators: tuple[tuple[int, tuple[int, ...]], ...]  # (builtin code, input tensor indices) per operator


class _Table:
    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, slot: int) -> int:
        at = 4 + 2 * slot
        return struct.unpack_from("<H", self.buf, self.vtable + at)[0] if at < self.vsize else 0

    def scalar(self, slot: int, fmt: str, default: int = 0) -> int:
        off = self._field(slot)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _ref(self, slot: int) -> int | None:
        off = self._field(slot)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def _length(self, at: int, item: int) -> int:
        """A vector's length, checked against the file: a damaged length is a ``ValueError``, not a huge list."""
        n = struct.unpack_from("<I", self.buf, at)[0]
        if at + 4 + item * n > len(self.buf):
            raise ValueError(f"its FlatBuffer is damaged (a vector of {n} items runs past the end of the file)")
        return n

    def ints(self, slot: int) -> tuple[int, ...]:
        at = self._ref(slot)
        if at is None:
            return ()
        n = self._length(at, 4)
        return struct.unpack_from(f"<{n}i", self.buf, at + 4)

    def string(self, slot: int) -> str:
        at = self._ref(slot)
        if at is None:
            return ""
        n = self._length(at, 1)
        return self.buf[at + 4:at + 4 + n].decode("utf-8", "replace")

    def tables(self, slot: int) -> list["_Table"]:
        at = self._ref(slot)
        if at is None:
            return []
        n = self._length(at, 4)
        items = [at + 4 + 4 * i for i in range(n)]
        return [_Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]) for p in items]


def read_graph(path: Path | str | bytes) -> GraphInfo:
    """The first subgraph's inputs, outputs and operators, from a file or the model's bytes; ``ValueError`` when it
    is no TFLite model or its structure is damaged. It reads the declarations only: it is no verifier of the
    weights (the shipped models' sha256 is)."""
    buf = path if isinstance(path, bytes) else Path(path).read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("no TFLite identifier (TFL3) in its header")
    try:
        model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
        graphs = model.tables(_MODEL_SUBGRAPHS)
        if not graphs:
            raise ValueError("it holds no graph")
        graph = graphs[0]
        tensors = graph.tables(_SUBGRAPH_TENSORS)

        def info(i: int) -> TensorInfo:
            if not 0 <= i < len(tensors):
                raise ValueError(f"its FlatBuffer is damaged (it names tensor {i} of {len(tensors)})")
            t = tensors[i]
            shape = t.ints(_TENSOR_SHAPE_SIGNATURE) or t.ints(_TENSOR_SHAPE)
            return TensorInfo(i, t.string(_TENSOR_NAME), tuple(int(v) for v in shape))

        codes = [max(c.scalar(_OPCODE_DEPRECATED, "b"), c.scalar(_OPCODE_BUILTIN, "i"))
                 for c in model.tables(_MODEL_OPERATOR_CODES)]
        ops = tuple((codes[op.scalar(_OPERATOR_OPCODE_INDEX, "I")], tuple(op.ints(_OPERATOR_INPUTS)))
                    for op in graph.tables(_SUBGRAPH_OPERATORS))
        return GraphInfo(tuple(info(i) for i in graph.ints(_SUBGRAPH_INPUTS)),
                         tuple(info(i) for i in graph.ints(_SUBGRAPH_OUTPUTS)), ops)
    except (struct.error, IndexError, UnicodeError):
        raise ValueError("its FlatBuffer is damaged (cut short, or not a model)") from None


def fully_connected_with_bias(graph: GraphInfo) -> bool:
    """Whether a FULLY_CONNECTED operator adds a bias: OpenCV's TFLite importer (4.14) leaves that bias out, so such
    a graph answers wrongly there (emocare's exporter writes its last layer as a 1x1 convolution instead)."""
    return any(code == FULLY_CONNECTED and len(inputs) > 2 and inputs[2] >= 0 for code, inputs in graph.operators)
