"""watch's terminal status: a live line on a terminal, one line per event elsewhere, nothing with --quiet."""

import io

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from conftest import DATA
from emocare.cli import app
from emocare.faces import Face, Faces, Mood
from emocare.status import StatusLine


def _faces(t: float, label: str) -> Faces:
    scores = np.full(7, 1 / 7)
    mood = Mood(label=label, confidence=0.71, valence="negative" if label == "sad" else "neutral",
                negative_for_s=0.0, scores=scores, since=0.0)
    return Faces(faces=(Face(box=(0, 0, 10, 10), scores=scores, track_id=1, mood=mood),), frame_index=int(t * 10), t=t,
                 engine="x", ms=1.0, size=(64, 64), primary=1)


def test_the_line_says_elapsed_fps_people_mood_and_last_care():
    now = [100.0]
    buf = io.StringIO()
    status = StatusLine(Console(file=buf, width=120), live=True, clock=lambda: now[0])
    for i in range(11):
        now[0] = 100.0 + i * 0.1
        status.on_faces(_faces(i * 0.1, "sad"))
    status.on_record({"type": "care", "t": 0.9, "id": 1, "action": "message", "mood": "sad"})
    line = status.text()
    assert line.startswith("   1.0 s ·  10.0 fps")
    assert "1 person" in line and "#1* sad 0.71" in line and "care: message at 0.9 s" in line


def test_not_a_terminal_prints_one_line_per_event():
    buf = io.StringIO()
    status = StatusLine(Console(file=buf, width=120), live=False, clock=lambda: 0.0)
    status.on_record({"type": "mood", "t": 1.0, "id": 1, "mood": "sad"})  # not an event
    status.on_record({"type": "change", "t": 2.0, "id": 1, "from": "neutral", "to": "sad"})
    status.on_record({"type": "care", "t": 7.5, "id": 1, "action": "message", "mood": "sad"})
    assert buf.getvalue().splitlines() == ["    2.0 s  #1 neutral → sad", "    7.5 s  #1 care: message (sad)"]


def test_watch_prints_events_and_quiet_prints_none(tmp_path):
    runner = CliRunner()
    args = ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--fast", "--no-window", "--audio", "none",
            "--engine", "emocare-fer", "--journal", str(tmp_path / "j.jsonl")]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0, loud.output
    assert "→" in loud.stderr  # uncertain → neutral → happy as the man smiles
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and "→" not in quiet.stderr
