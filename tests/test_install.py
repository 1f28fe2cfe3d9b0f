"""What `make install` promises: one GUI OpenCV 4.x with cascades, TF + tf-keras, fer without torch."""

import importlib.metadata as md
import importlib.util
import os
import subprocess
import sys

import pytest


def test_exactly_one_opencv_gui_build_with_cascades():
    import cv2

    assert cv2.__version__.startswith("4."), cv2.__version__
    assert os.path.isfile(os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))
    assert os.path.isfile(os.path.join(cv2.data.haarcascades, "haarcascade_eye.xml"))  # deepface's opencv detector
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    assert gui and "NONE" not in gui[0].upper(), gui
    installed = {d.metadata["Name"].lower() for d in md.distributions()}
    opencv_wheels = {n for n in installed if n.startswith("opencv")}
    assert opencv_wheels == {"opencv-python"}, opencv_wheels


def test_tensorflow_with_tf_keras_and_fer_without_torch():
    pytest.importorskip("tensorflow", reason="the full install (make install, '.[all]') only")
    assert importlib.util.find_spec("tf_keras") is not None
    assert importlib.util.find_spec("werkzeug") is not None
    assert importlib.util.find_spec("torch") is None  # fer installed without facenet-pytorch's torch
    code = "from fer.fer import FER; import deepface; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, emocare.cli\n"
        "heavy = [m for m in ('tensorflow', 'cv2', 'deepface', 'fer', 'numpy', 'PIL') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_entry_points_answer_help():
    exe = os.path.join(os.path.dirname(sys.executable), "emocare")
    for cmd in ([exe, "--help"], [exe, "analyze", "--help"], [sys.executable, "-m", "emocare", "--help"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "emocare" in out.stdout.lower() or "usage" in out.stdout.lower()


def test_wheel_carries_sounds_messages_and_sample(tmp_path):
    """A non-editable install gets the sounds and data files, not only the checkout."""
    import zipfile
    from pathlib import Path

    root = Path(__file__).parent.parent
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(root)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("emocare-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("emocare/sounds/chime.wav", "emocare/sounds/calm_pad.wav", "emocare/sounds/calm_rain.wav",
              "emocare/data/messages.toml", "emocare/data/sample.mp4", "emocare/engines/lite.py", "emocare/py.typed",
              "emocare/lab/__init__.py", "emocare/lab/train.py", "emocare/lab/bench.py",
              "emocare/models/blazeface/face_detection_back.tflite", "emocare/models/blazeface/face_landmark.tflite",
              "emocare/models/blazeface/LICENSE", "emocare/models/blazeface/NOTICE",
              "emocare/models/mtcnn/onet.onnx", "emocare/models/mtcnn/LICENSE", "emocare/models/mtcnn/NOTICE",
              "emocare/models/centerface/centerface.onnx", "emocare/models/centerface/LICENSE",
              "emocare/models/centerface/NOTICE"):
        assert f in names, f
