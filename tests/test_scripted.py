"""The watch loop, care and journal end to end with a scripted engine: no model, no TensorFlow, milliseconds.

Also: which heavy modules each engine imports (lazy imports are what keep
``--help`` instant and emocare's own path light).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import VENV_BIN
from emocare.engines import registry
from emocare.faces import EMOTIONS, Face

SCRIPT = r'''
import json, sys, time
import numpy as np
from dataclasses import replace
from emocare.care import build_carer
from emocare.faces import EMOTIONS, Face
from emocare.journal import Journal
from emocare.records import StartRecord
from emocare.live import Session, WatchOptions
from emocare.pipeline import Pipeline
from emocare.settings import Settings
from emocare.sources import Frame

class ScriptedEngine:
    """Fixed Faces per frame: neutral, then sad from 6 s to 20 s, then neutral (the shape of sad_sustained)."""
    name = "scripted"
    def __init__(self, fps):
        self.fps, self.i = fps, 0
    def analyze(self, image, *, stream=False):
        t = self.i / self.fps
        self.i += 1
        p = np.full(7, 0.02)
        p[EMOTIONS.index("sad" if 6.0 <= t < 20.0 else "neutral")] = 0.88
        return [Face(box=(100, 60, 120, 120), scores=p / p.sum())]
    def close(self):
        pass

fps = 15.0
settings = replace(Settings(), quiet=True, audio="none", lang="en")
frames = (Frame(image=np.zeros((240, 320, 3), np.uint8), index=i, t=i / fps) for i in range(int(26 * fps)))
started = time.perf_counter()
with Journal(sys.argv[1]) as journal:
    journal.write(StartRecord(t=0.0, source="scripted"))
    carer = build_carer(settings, journal)
    session = Session(Pipeline.from_settings(ScriptedEngine(fps), settings), journal,
                      WatchOptions(source_label="scripted", show_window=False, record=None, snapshot_dir=None, fps=fps),
                      carer=carer)
    result = session.run_frames(frames)
    carer.close()
heavy = sorted(m for m in ("tensorflow", "keras", "deepface", "fer", "ai_edge_litert") if m in sys.modules)
print(json.dumps({"reason": result.reason, "seconds": time.perf_counter() - started, "heavy": heavy}))
'''


def test_scripted_session_comforts_inside_the_sad_part(tmp_path):
    journal = tmp_path / "j.jsonl"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(journal)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["reason"] == "end of source" and info["heavy"] == []
    assert info["seconds"] < 20  # 390 frames through tracker, window, care and journal without a model
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[0]["type"] == "start" and records[-1]["type"] == "end"
    care = [r for r in records if r["type"] == "care"]
    # sad from 6 s: the window (3 s) and hold (1 s) make it negative by 10 s at the latest, plus persist 5 s
    assert len(care) == 1 and care[0]["action"] == "message" and care[0]["mood"] == "sad"
    assert 11.0 <= care[0]["t"] <= 15.0, care[0]["t"]
    moods = [r for r in records if r["type"] == "mood"]
    assert {r["id"] for r in moods} == {1}
    assert [r["mood"] for r in moods if r["t"] < 5.5] and all(r["mood"] in ("neutral", "uncertain")
                                                                 for r in moods if r["t"] < 5.5)
    assert all(r["mood"] == "sad" for r in moods if 10.0 <= r["t"] < 20.0)
    assert all(r["mood"] == "neutral" for r in moods if r["t"] >= 24.5)
    changes = [(r["from"], r["to"]) for r in records if r["type"] == "change"]
    assert changes == [("neutral", "sad"), ("sad", "neutral")] or changes[1:] == [("neutral", "sad"), ("sad", "neutral")]


HEAVY = {"tensorflow", "keras", "deepface", "fer", "torch"}
# what each engine must import to be the engine it says it is
LITERT = {"ai_edge_litert"} if importlib.util.find_spec("ai_edge_litert") else set()  # else OpenCV runs the graphs
MUST_IMPORT = {"emocare": LITERT | {"cv2"}, "emocare-fer": {"ai_edge_litert", "cv2"},
               "emocare-deepface": {"cv2", "h5py"}, "fer": {"fer", "tensorflow"}, "fer-keras": {"fer", "tensorflow"},
               "deepface": {"deepface", "tensorflow"}, "deepface-onnx": {"deepface", "onnxruntime"}}
ENGINE_IMPORTS = [(spec.name, MUST_IMPORT[spec.name], HEAVY - set(spec.heavy)) for spec in registry.ENGINES]


def test_every_registered_engine_has_an_import_expectation():
    assert set(MUST_IMPORT) == set(registry.names(choosable=False))


@pytest.mark.parametrize("engine,must,must_not", ENGINE_IMPORTS, ids=[e[0] for e in ENGINE_IMPORTS])
def test_each_engine_imports_only_what_it_needs(engine, must, must_not, random_deepface_home, monkeypatch):
    """Built from the registry, with random DeepFace weights where the engine runs DeepFace's model."""
    monkeypatch.setenv("DEEPFACE_HOME", str(random_deepface_home))
    missing = [p for p in registry.get(engine).model_paths() if not p.is_file()]
    if missing:
        pytest.skip(f"{engine}: its model file is not on this machine ({missing[0].name})")
    if engine == "emocare-deepface":  # its one-time conversion to TFLite (TensorFlow, that once only) is done first,
        from emocare.engines.classifiers import compiled_tflite  # not left to whichever test ran before
        from emocare.engines.weights import emotion_weights_path

        assert compiled_tflite(emotion_weights_path()) is not None
    code = ("import sys, numpy as np; from emocare.engines import build, analyze_frame; "
            f"e = build({engine!r}); analyze_frame(e, np.zeros((120, 160, 3), np.uint8)); "
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(out.stdout.split())
    assert must <= loaded, must - loaded
    assert not (must_not & loaded), must_not & loaded


def test_face_scores_are_the_engines_not_rescaled():
    p = np.arange(1, 8, dtype=float)
    face = Face(box=(0, 0, 10, 10), scores=p / p.sum())
    assert face.dominant == EMOTIONS[-1]
    assert replace(face, track_id=3).track_id == 3
