"""Which runtime runs the default engine's graphs: LiteRT when it is installed, else OpenCV's DNN module (the light
install). Both must answer the same; the graph reader must see what LiteRT sees; a graph OpenCV would run wrongly is
refused with the extra that runs it."""

import importlib.util
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import DATA
from emocare.engines import blazeface, litert
from emocare.engines.emocare_model import MODEL_PATH, EmocareNet
from emocare.engines.opencv_dnn import GraphNotRunnable, OpenCVInterpreter, _channels_last
from emocare.engines.tflite_file import (FULLY_CONNECTED, GraphInfo, TensorInfo, _Table, fully_connected_with_bias,
                                         read_graph)
from emocare.errors import ConfigError, ExtraMissing, ModelMissing
from emocare.faces import EMOTIONS

HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
needs_litert = pytest.mark.skipif(not HAS_LITERT, reason="compares with LiteRT: pip install 'emocare[litert]'")
GRAPHS = [MODEL_PATH, *sorted((MODEL_PATH.parent / "blazeface").glob("*.tflite"))]


def _litert(path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    return it


def test_the_shipped_graphs_declare_what_the_engine_expects():
    emotion = read_graph(MODEL_PATH)
    assert sorted(t.shape for t in emotion.inputs) == [(-1, 48, 48, 1), (-1, 64, 64, 1)]
    assert [t.shape for t in emotion.outputs] == [(-1, 2 * len(EMOTIONS))]
    back = read_graph(MODEL_PATH.parent / "blazeface" / "face_detection_back.tflite")
    assert [t.shape[1:] for t in back.inputs] == [(256, 256, 3)]
    assert sorted(t.shape[-1] for t in back.outputs) == [1, 16]  # a score and 16 numbers (box, 6 points) per anchor
    assert not any(fully_connected_with_bias(read_graph(p)) for p in GRAPHS)


@needs_litert
@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_the_reader_sees_the_inputs_and_outputs_litert_sees(path):
    graph, it = read_graph(path), _litert(path)
    for mine, theirs in ((graph.inputs, it.get_input_details()), (graph.outputs, it.get_output_details())):
        assert [(t.index, t.name) for t in mine] == [(d["index"], d["name"]) for d in theirs]
        assert [t.shape for t in mine] == [tuple(int(v) for v in d["shape_signature"]) for d in theirs]


def test_a_file_that_is_no_model_is_refused(tmp_path):
    junk = tmp_path / "photo.tflite"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a graph" * 10)
    with pytest.raises(ValueError, match="TFL3"):
        read_graph(junk)
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(MODEL_PATH.read_bytes()[:4096])
    with pytest.raises(ValueError, match="damaged"):
        read_graph(cut)
    with pytest.raises(GraphNotRunnable, match="not a TFLite model"):
        OpenCVInterpreter(junk)


def test_a_fully_connected_bias_is_seen():
    t = TensorInfo(0, "x", (1, 8))
    conv_only = GraphInfo((t,), (t,), ((3, (0, 1, 2)),))
    fc_no_bias = GraphInfo((t,), (t,), ((FULLY_CONNECTED, (0, 1, -1)),))
    fc_bias = GraphInfo((t,), (t,), ((3, (0, 1, 2)), (FULLY_CONNECTED, (0, 1, 2))))
    assert [fully_connected_with_bias(g) for g in (conv_only, fc_no_bias, fc_bias)] == [False, False, True]


@needs_litert
@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_opencv_answers_as_litert_on_every_shipped_graph(path):
    ours, theirs = OpenCVInterpreter(path, 2), _litert(path)
    rng = np.random.default_rng(7)
    for size in (1, 3) if path == MODEL_PATH else (1,):
        feeds = {}
        for d in theirs.get_input_details():
            shape = [size, *(int(v) for v in d["shape"][1:])]
            theirs.resize_tensor_input(d["index"], shape)
            ours.resize_tensor_input(d["index"], shape)
            feeds[d["index"]] = rng.uniform(-1, 1, shape).astype(np.float32)
        theirs.allocate_tensors()
        ours.allocate_tensors()
        for index, x in feeds.items():
            theirs.set_tensor(index, x)
            ours.set_tensor(index, x)
        theirs.invoke()
        ours.invoke()
        for d in theirs.get_output_details():
            a, b = theirs.get_tensor(d["index"]), ours.get_tensor(d["index"])
            assert a.shape == b.shape
            assert np.allclose(a, b, atol=1e-3, rtol=1e-3), (path.name, float(np.abs(a - b).max()))


def test_opencv_checks_each_input_shape():
    it = OpenCVInterpreter(MODEL_PATH)
    index = it.get_input_details()[0]["index"]
    with pytest.raises(ValueError, match="expected shape"):
        it.set_tensor(index, np.zeros((2, 5, 5, 1), np.float32))


def _val_faces(n=40):
    paths = sorted((DATA / "fer_val210").glob("*/*.jpg"))[:: max(1, 210 // n)]
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]


@needs_litert
def test_emocares_model_gives_the_same_probabilities_on_either_runtime(monkeypatch):
    faces = _val_faces()
    answers = {}
    for runtime in ("litert", "opencv"):
        monkeypatch.setenv("EMOCARE_RUNTIME", runtime)
        net = EmocareNet()
        assert net.runtime == {"litert": "LiteRT", "opencv": "OpenCV DNN"}[runtime]
        answers[runtime] = net.predict(np.stack([net.preprocess(f, (0, 0, 48, 48), crop_only=True) for f in faces]))
    assert np.abs(answers["litert"] - answers["opencv"]).max() < 1e-4


def test_the_detector_finds_a_face_on_opencv(monkeypatch):
    monkeypatch.setenv("EMOCARE_RUNTIME", "opencv")
    found = blazeface.BlazeFaceDetector().detect(cv2.imread(str(DATA / "pyfeat_single_face.jpg")))
    assert len(found) == 1


def test_a_wrong_runtime_name_is_a_config_error(monkeypatch):
    monkeypatch.setenv("EMOCARE_RUNTIME", "tensorrt")
    with pytest.raises(ConfigError, match="EMOCARE_RUNTIME='tensorrt'"):
        litert.model_interpreter(MODEL_PATH)


def test_asking_for_litert_without_it_names_the_extra(monkeypatch):
    monkeypatch.setenv("EMOCARE_RUNTIME", "litert")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert" else real(name, *a))
    with pytest.raises(ExtraMissing, match=r"emocare\[litert\]") as caught:
        litert.model_interpreter(MODEL_PATH)
    assert caught.value.extra == "litert"


def test_a_graph_opencv_would_run_wrongly_asks_for_litert(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOCARE_RUNTIME", "opencv")
    monkeypatch.setattr("emocare.engines.opencv_dnn.fully_connected_with_bias", lambda graph: True)
    with pytest.raises(ExtraMissing, match=r"emocare's model .* needs LiteRT.*bias.*emocare\[litert\]"):
        litert.model_interpreter(MODEL_PATH, what="emocare's model")
    junk = tmp_path / "emotion.tflite"
    junk.write_text("hello")
    with pytest.raises(ModelMissing, match="not a TFLite model"):
        litert.model_interpreter(junk)


def test_a_wrong_runtime_name_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    import os

    (tmp_path / "empty.toml").write_text("")
    env = {**os.environ, "EMOCARE_RUNTIME": "tensorrt", "EMOCARE_CONFIG": str(tmp_path / "empty.toml")}
    out = subprocess.run([sys.executable, "-m", "emocare", "analyze", str(DATA / "pyfeat_single_face.jpg")],
                         capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out.stderr
    assert "EMOCARE_RUNTIME" in out.stderr and "Traceback" not in out.stderr


def test_the_exported_head_is_the_dense_head_as_a_convolution():
    """``emocare train`` exports its network with the head as a 1x1 convolution (which OpenCV runs as LiteRT does):
    the same function as the trained network."""
    pytest.importorskip("keras", reason="the lab extra: pip install 'emocare[lab]'")
    from emocare.lab.train import build_model
    from emocare.lab.train_nets import runtime_graph

    model = build_model(0)
    x = np.random.default_rng(3).normal(size=(4, 48, 48, 1)).astype(np.float32)
    graph = runtime_graph(model)
    assert graph is not model and not any(type(layer).__name__ == "Dense" for layer in graph.layers)
    assert np.allclose(graph.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_models_says_what_runs_the_graphs(monkeypatch):
    from typer.testing import CliRunner

    from emocare.cli import app

    monkeypatch.setenv("EMOCARE_RUNTIME", "opencv")
    result = CliRunner().invoke(app, ["models"])
    said = " ".join(result.stdout.split())  # the note wraps at the terminal's width
    assert result.exit_code == 0 and "OpenCV's DNN module" in said and "emocare[litert]" in said
    monkeypatch.setenv("EMOCARE_RUNTIME", "nope")
    result = CliRunner().invoke(app, ["models"])
    assert isinstance(result.exception, ConfigError) and "engines and models" not in result.stdout  # the entry: exit 2


# emocare's probabilities for five val faces (every 42nd of tests/data/fer_val210), recorded through LiteRT with the
# shipped model: whichever runtime is installed must give them (the light install has no LiteRT to compare with)
REFERENCE = {
    "angry/PublicTest_1419488.jpg": [0.014, 0.0003, 0.0002, 0.0119, 0.1283, 0.0002, 0.8452],
    "fear/PublicTest_25539273.jpg": [0.0034, 0.0005, 0.0017, 0.0003, 0.2384, 0.0097, 0.7462],
    "happy/PublicTest_48757021.jpg": [0.0015, 0.0012, 0.0006, 0.5474, 0.3367, 0.0012, 0.1113],
    "neutral/PublicTest_51623246.jpg": [0.1173, 0.0014, 0.0056, 0.0922, 0.1462, 0.0238, 0.6136],
    "sad/PublicTest_66693020.jpg": [0.0511, 0.0651, 0.0001, 0.0002, 0.1659, 0.0003, 0.7173],
}
RECORDED_SHA = "d1b9e097740ef1a4"  # the shipped model's sha256 (its start) when REFERENCE was recorded


def test_whichever_runtime_runs_gives_the_recorded_probabilities():
    import json

    net = EmocareNet()
    shipped = json.loads(MODEL_PATH.with_suffix(".json").read_text())["sha256"]
    assert shipped.startswith(RECORDED_SHA), "the shipped model changed: record REFERENCE again through LiteRT"
    faces = [cv2.imread(str(DATA / "fer_val210" / name), cv2.IMREAD_GRAYSCALE) for name in REFERENCE]
    probs = net.predict(np.stack([net.preprocess(f, (0, 0, 48, 48), crop_only=True) for f in faces]))
    assert np.abs(probs - np.array(list(REFERENCE.values()))).max() < 1e-3, net.runtime


def test_a_damaged_vector_length_is_a_value_error_not_a_huge_list(tmp_path):
    import struct

    buf = bytearray(MODEL_PATH.read_bytes())
    model = _Table(bytes(buf), struct.unpack_from("<I", buf, 0)[0])
    struct.pack_into("<I", buf, model._ref(2), 0xFFFFFFF0)  # the subgraphs vector's length
    bad = tmp_path / "emotion.tflite"
    bad.write_bytes(bytes(buf))
    with pytest.raises(ValueError, match="runs past the end"):
        read_graph(bad)
    with pytest.raises(ModelMissing, match="damaged.*reinstall emocare"):
        litert.model_interpreter(bad) if not HAS_LITERT else _opencv_interpreter(bad)


def _opencv_interpreter(path):
    import os

    os.environ["EMOCARE_RUNTIME"] = "opencv"
    try:
        return litert.model_interpreter(path)
    finally:
        del os.environ["EMOCARE_RUNTIME"]


def test_a_graph_opencv_loads_but_cannot_run_names_the_extra_at_its_first_call():
    it = OpenCVInterpreter(MODEL_PATH)

    class Refuses:
        def setInput(self, *args):
            pass

        def forward(self, names):
            raise cv2.error("OpenCV(4.14.0) /io/opencv/modules/dnn/src/x.cpp:257: error: (-213:The function/feature "
                            "is not implemented) Unsupported operator type MUL in function 'parseOp'")

    it._net = Refuses()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], np.float32))
    with pytest.raises(ExtraMissing, match=r"emotion.tflite: .*\(Unsupported operator type MUL in function 'parseOp'\): "
                                           r"pip install 'emocare\[litert\]'") as caught:
        it.invoke()
    assert "/io/" not in str(caught.value) and "-213" not in str(caught.value)


def test_outputs_come_back_in_the_declared_layout():
    nchw = np.zeros((1, 16, 8, 4), np.float32)
    assert _channels_last(nchw, (1, 8, 4, 16), "x").shape == (1, 8, 4, 16)
    assert _channels_last(np.zeros((3, 14), np.float32), (-1, 14), "x").shape == (3, 14)
    with pytest.raises(RuntimeError, match="declares"):
        _channels_last(np.zeros((3, 7), np.float32), (-1, 14), "x")


def test_averaged_runs_export_in_the_form_opencv_runs(tmp_path):
    """``train --average`` (how the shipped model was made) joins the runs in one graph; each run's head must be
    written as a convolution there too, or the light install could not run the model."""
    tf = pytest.importorskip("tensorflow", reason="the lab extra: pip install 'emocare[lab]'")
    from emocare.lab.train import build_model
    from emocare.lab.train_runs import _ensemble

    runs = []
    for i in range(2):
        (tmp_path / f"run{i}").mkdir()
        build_model(i).save_weights(str(tmp_path / f"run{i}" / "best.weights.h5"))
        runs.append(tmp_path / f"run{i}" / "best.weights.h5")
    for files in (runs[:1], runs):
        blob = tf.lite.TFLiteConverter.from_keras_model(_ensemble(files)).convert()
        assert not fully_connected_with_bias(read_graph(blob))


def test_models_sends_a_light_install_to_the_deepface_extra_first(monkeypatch):
    from typer.testing import CliRunner

    from emocare import extras
    from emocare.cli import app

    monkeypatch.setenv("DEEPFACE_HOME", "/nonexistent-emocare-test")
    monkeypatch.setattr(extras, "missing", lambda extra: ("deepface",) if extra == "deepface" else ())
    result = CliRunner().invoke(app, ["models"])
    said = " ".join(result.stderr.split())  # the note wraps at the terminal's width
    assert result.exit_code == 0 and "pip install 'emocare[deepface]', then 'emocare models download'" in said
