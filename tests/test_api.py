"""The Python API (``emocare.analyze``, ``open_engine``, ``watch``, ``Faces`` as a Sequence) and the README's
"Use from Python" examples, run as written. Light install only: emocare's own engine, no TensorFlow."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence

import cv2
import numpy as np
import pytest

import emocare
from conftest import DATA, ROOT
from emocare.faces import EMOTIONS, Face, Faces
from emocare.records import from_json


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Use from Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_examples_for_each_function():
    code = "\n".join(readme_examples())
    for call in ("emocare.analyze(", "emocare.open_engine(", "emocare.watch("):
        assert call in code, call


@pytest.mark.parametrize("index", range(3))
def test_readme_example_runs_as_written(index, tmp_path):
    """In a fresh interpreter from the repository root, as a reader would paste it."""
    examples = readme_examples()
    assert len(examples) == 3
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", examples[index]], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip()


def test_import_emocare_is_light_and_lists_its_api():
    code = ("import sys, emocare\n"
            "names = dir(emocare)\n"
            "heavy = [m for m in ('cv2', 'numpy', 'rich', 'tensorflow', 'typer', 'PIL') if m in sys.modules]\n"
            "print(','.join(heavy)); print(' '.join(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    heavy, names = out.stdout.splitlines()
    assert heavy == ""
    for name in ("analyze", "open_engine", "watch", "Face", "Faces", "EmocareError", "InputError"):
        assert name in names.split()


def test_py_typed_ships():
    assert (ROOT / "emocare" / "py.typed").is_file()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()


# ---------------------------------------------------------------- analyze
def test_analyze_a_path_gives_faces_with_the_promised_fields():
    faces = emocare.analyze(DATA / "pyfeat_single_face.jpg")
    assert isinstance(faces, list) and len(faces) == 1
    face = faces[0]
    assert isinstance(face, emocare.Face)
    x, y, w, h = face.box
    assert w > 50 and h > 50
    assert list(face.emotions) == list(EMOTIONS)
    assert sum(face.emotions.values()) == pytest.approx(1.0)
    assert face.dominant == max(face.emotions, key=face.emotions.get) == "happy"
    assert face.confidence == pytest.approx(face.emotions["happy"])


def test_analyze_an_array_grey_or_bgra_alike():
    bgr = cv2.imread(str(DATA / "pyfeat_single_face.jpg"))
    for image in (bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)):
        faces = emocare.analyze(image, engine="emocare")
        assert len(faces) == 1 and faces[0].box[2] > 50


def test_analyze_no_face_is_an_empty_list():
    assert emocare.analyze(np.full((240, 320, 3), 127, np.uint8)) == []


def test_a_missing_path_is_an_input_error_naming_it(tmp_path):
    missing = tmp_path / "no such photo.jpg"
    with pytest.raises(emocare.InputError) as caught:
        emocare.analyze(missing)
    assert str(missing) in str(caught.value) and caught.value.path == str(missing)
    assert isinstance(caught.value, emocare.EmocareError)


@pytest.mark.parametrize("bad, words", [
    (42, "got int"),
    (np.zeros((10, 10, 3), np.float32), "uint8"),
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.zeros((0, 10, 3), np.uint8), "shape"),
])
def test_bad_images_are_input_errors(bad, words):
    with pytest.raises(emocare.InputError, match=words):
        emocare.analyze(bad)


def test_not_an_image_file_is_an_input_error(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg at all")
    with pytest.raises(emocare.InputError, match="junk.jpg"):
        emocare.analyze(junk)


@pytest.mark.parametrize("kwargs, words", [
    ({"engine": "nope"}, "engine: 'nope'"),
    ({"detector": "mtcnn"}, "detector 'mtcnn'"),
    ({"max_side": 16}, "max_side: 16"),
])
def test_bad_choices_are_config_errors_without_command_line_options(kwargs, words):
    with pytest.raises(emocare.ConfigError) as caught:
        emocare.analyze(DATA / "pyfeat_single_face.jpg", **kwargs)
    assert words in str(caught.value)
    assert "--" not in str(caught.value)


def test_an_engine_whose_extra_is_missing_names_the_pip_install(monkeypatch):
    from emocare import extras

    monkeypatch.setattr(extras, "missing", lambda extra: ("tensorflow",))
    with pytest.raises(emocare.ExtraMissing) as caught:
        emocare.open_engine("deepface")
    assert "pip install 'emocare[deepface]'" in str(caught.value) and caught.value.extra == "deepface"
    assert isinstance(caught.value, emocare.EngineUnavailable) and "--" not in str(caught.value)


def test_library_wording_drops_the_dashes():
    from emocare.api import library_wording

    assert library_wording("--max-side 64: too small (--detector x)") == "max_side 64: too small (detector x)"
    assert library_wording("a-b --c") == "a-b c"
    # the fix a message gives is a shell command: its flags stay (pip would read 'no_deps' as a package)
    fer = "the fer engine needs fer: pip install 'emocare[fer]' && pip install --no-deps fer==25.10.3"
    assert library_wording(fer) == fer
    window = ("--window: OpenCV has no GUI (uninstall the OpenCV wheels, then "
              "`pip install --no-deps --force-reinstall opencv-python==4.14.0.94`), or --no-window")
    assert library_wording(window) == ("window: OpenCV has no GUI (uninstall the OpenCV wheels, then "
                                       "`pip install --no-deps --force-reinstall opencv-python==4.14.0.94`), or no_window")


# ---------------------------------------------------------------- open_engine
def test_open_engine_is_a_context_manager_over_many_frames():
    bgr = cv2.imread(str(DATA / "pyfeat_multi_face.jpg"))
    with emocare.open_engine("emocare") as engine:
        assert engine.name == "emocare" and engine.detector == "blazeface"
        first = engine.analyze(bgr)
        again = engine.analyze(DATA / "pyfeat_multi_face.jpg")
    assert isinstance(first, Faces) and len(first) == len(again) >= 2
    assert first.engine == "emocare" and first.size == (bgr.shape[1], bgr.shape[0])
    with pytest.raises(emocare.EmocareError, match="closed"):
        engine.analyze(bgr)


def test_open_engine_auto_resolves_to_a_real_engine():
    with emocare.open_engine() as engine:
        assert engine.name == "emocare"  # no DeepFace weights in the tests' DEEPFACE_HOME


# ---------------------------------------------------------------- Faces is a Sequence
def _faces(n: int) -> Faces:
    return Faces(faces=tuple(Face((i, i, 10, 10), np.full(7, 1 / 7)) for i in range(n)), frame_index=3, t=1.5,
                 engine="x", ms=2.0, size=(100, 80))


def test_faces_is_a_sequence():
    faces = _faces(3)
    assert isinstance(faces, Sequence)
    assert len(faces) == 3 and faces[0].box[0] == 0 and faces[-1].box[0] == 2
    assert [f.box[0] for f in faces] == [0, 1, 2] == [f.box[0] for f in reversed(faces)][::-1]
    assert faces[1] in faces and faces.index(faces[1]) == 1 and faces.count(faces[2]) == 1
    with pytest.raises(IndexError):
        faces[3]


def test_a_slice_of_faces_is_faces_of_the_same_frame():
    part = _faces(4)[1:3]
    assert isinstance(part, Faces) and len(part) == 2 and part[0].box[0] == 1
    assert (part.frame_index, part.t, part.engine, part.size) == (3, 1.5, "x", (100, 80))
    assert not _faces(0) and _faces(1)  # empty is falsy, as before


# ---------------------------------------------------------------- watch
def test_watch_calls_back_with_moods_and_faces(tmp_path):
    moods, frames = [], []
    run = emocare.watch(DATA / "pyfeat_single_face.mp4", on_mood=moods.append, on_faces=frames.append, fast=True,
                        audio="none", journal=tmp_path / "j.jsonl")
    assert run.result.reason == "end of source" and run.journal == tmp_path / "j.jsonl"
    assert frames and all(isinstance(f, Faces) for f in frames)
    assert moods and isinstance(moods[0], emocare.MoodChange) and moods[0].previous is None
    assert all(m.mood in (*EMOTIONS, "uncertain") for m in moods)
    later = [m for m in moods if m.previous is not None]
    assert all(m.previous != m.mood for m in later)


def test_watch_calls_back_on_care():
    from emocare.api import CareEvent, _Callbacks

    cares = []
    sink = _Callbacks(None, cares.append, None)
    sink.on_record(from_json({"type": "care", "t": 6.0, "id": 1, "mood": "sad", "action": "speech", "message": "I'm here.",
                              "lang": "en", "audio": ["a.mp3"]}))
    assert cares == [CareEvent(6.0, 1, "sad", "speech", "I'm here.", "en", ("a.mp3",))]


def test_watch_errors_are_worded_for_a_library(tmp_path):
    with pytest.raises(emocare.InputError, match="a photo, not a video") as caught:
        emocare.watch(DATA / "pyfeat_single_face.jpg")
    assert "--" not in str(caught.value)
    disguised = tmp_path / "face.dat"  # known by its first bytes, not its name
    disguised.write_bytes((DATA / "pyfeat_single_face.jpg").read_bytes())
    with pytest.raises(emocare.InputError, match="a photo, not a video"):
        emocare.watch(disguised)
    with pytest.raises(emocare.SourceError, match="no such file") as caught:
        emocare.watch(tmp_path / "missing.mp4", audio="none", journal=tmp_path / "j.jsonl")
    assert str(tmp_path / "missing.mp4") in str(caught.value)
    with pytest.raises(emocare.ConfigError, match="unknown setting 'windw'"):
        emocare.watch(DATA / "pyfeat_single_face.mp4", windw=True)
    with pytest.raises(emocare.ConfigError, match="fast=True") as caught:
        emocare.watch(0, fast=True)
    with pytest.raises(emocare.InputError, match="got float"):
        emocare.watch(1.5)


def test_a_headless_opencv_is_one_line_with_the_fix(monkeypatch, tmp_path):
    from emocare import window

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                           NONE\n")
    problem = window.gui_missing()
    assert problem is not None and "\n" not in problem and "pip install --no-deps --force-reinstall opencv-python" in problem
    with pytest.raises(emocare.WindowUnavailable, match="headless build"):
        emocare.watch(DATA / "pyfeat_single_face.mp4", show_window=True, audio="none", journal=tmp_path / "j.jsonl")
