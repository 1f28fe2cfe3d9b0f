"""bench --sessions: scoring rules on hand-made records, bad session input, the real command, the session renderer."""

import json
import subprocess
import sys

import cv2
import pytest
from typer.testing import CliRunner

from conftest import DATA, TOOLS
from emocare.lab import bench_sessions as bs
from emocare.cli import app
from emocare.settings import DEFAULTS

runner = CliRunner()
SESSIONS = DATA / "sessions"
AGREED = DATA / "sessions_agreed"
FPS = 15


def truth(*segments):
    """(label, seconds) segments -> (t, label) per frame at 15 fps."""
    rows, frame = [], 0
    for label, seconds in segments:
        for _ in range(round(seconds * FPS)):
            rows.append((frame / FPS, label))
            frame += 1
    return rows


def records(care_t=(), changes=2, end=26.0):
    out = [{"type": "start", "t": 0.0, "source": "x", "engine": "e"}]
    out += [{"type": "change", "t": 1.0 + i, "id": 1, "from": "uncertain", "to": "neutral"} for i in range(changes)]
    out += [{"type": "care", "t": t, "id": 1, "mood": "sad", "action": "message"} for t in care_t]
    return out + [{"type": "end", "t": end, "reason": "source ended"}]


SUSTAINED = truth(("neutral", 6), ("sad", 14), ("neutral", 6))
BRIEF = truth(("neutral", 8), ("sad", 1.5), ("neutral", 8))


def test_negative_stretches_include_a_stretch_that_runs_to_the_end():
    assert bs.negative_stretches(SUSTAINED, DEFAULTS.negative, 1 / FPS) == [(6.0, 20.0)]
    tail = truth(("neutral", 2), ("angry", 1), ("fear", 1))
    (a, b), = bs.negative_stretches(tail, DEFAULTS.negative, 1 / FPS)
    assert (a, b) == (2.0, pytest.approx(4.0))


def test_comfort_inside_a_due_stretch_is_right_and_timed_from_its_onset():
    s = bs.score(records(care_t=(13.8,)), SUSTAINED, DEFAULTS)
    assert (s.due, s.comforted, s.wrong, s.changes) == (1, 1, 0, 2)
    assert s.delay_s == (pytest.approx(7.8),)


def test_comfort_in_the_window_after_the_stretch_is_still_right():
    s = bs.score(records(care_t=(20.0 + DEFAULTS.window_s - 0.1,)), SUSTAINED, DEFAULTS)
    assert (s.comforted, s.wrong) == (1, 0)


def test_comfort_while_calm_or_for_a_brief_dip_is_wrong_and_a_missed_one_counts():
    calm = bs.score(records(care_t=(3.0,)), SUSTAINED, DEFAULTS)
    assert (calm.due, calm.comforted, calm.wrong) == (1, 0, 1)
    dip = bs.score(records(care_t=(9.0,)), BRIEF, DEFAULTS)
    assert (dip.due, dip.comforted, dip.wrong) == (0, 0, 1)
    none = bs.score(records(), BRIEF, DEFAULTS)
    assert (none.due, none.wrong) == (0, 0)


def test_summary_adds_sessions_and_changes_per_minute_over_all_minutes():
    a = bs.score(records(care_t=(13.8,), changes=4), SUSTAINED, DEFAULTS)  # 26 s
    b = bs.score(records(changes=0, end=17.5), BRIEF, DEFAULTS)  # 17.5 s
    s = bs.summary([a, b])
    assert (s["sessions"], s["due"], s["comforted"], s["wrong"]) == (2, 1, 1, 0)
    assert s["changes_per_min"] == pytest.approx(4 / ((26.0 + 17.5) / 60))


def test_bad_session_input_is_one_line(tmp_path):
    video = tmp_path / "s.mp4"
    video.write_bytes(b"")
    with pytest.raises(bs.InputError, match="truth.csv beside it"):
        bs.session_videos([video])
    bad = tmp_path / "s.truth.csv"
    bad.write_text("frame,t,label\n0,0.0,grumpy\n")
    with pytest.raises(bs.InputError, match="unknown label.*grumpy"):
        bs.read_truth(bad)
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(bs.InputError, match="not a session truth file"):
        bs.read_truth(bad)
    r = runner.invoke(app, ["bench", "--sessions", str(tmp_path / "nope")])
    assert r.exit_code == 1 and "nope: no such file or folder" in r.output
    r = runner.invoke(app, ["bench", "--sessions", str(SESSIONS), "--engines", "bogus"])
    assert r.exit_code == 2 and "bogus" in r.output


def test_bench_sessions_on_the_shipped_sessions(tmp_path):
    """The real command: the shipped model comforts the sustained sadness and not the brief dip (sessions of faces
    FER+ annotators agree on: the model is trained on their votes)."""
    out = tmp_path / "s.json"
    r = runner.invoke(app, ["bench", "--sessions", str(AGREED / "sad_sustained.mp4"), "--sessions",
                            str(AGREED / "sad_brief.mp4"), "--engines", "emocare", "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "care sessions (2 videos" in r.output
    summary = json.loads(out.read_text())["care_sessions"]["summary"]["emocare"]
    assert (summary["due"], summary["comforted"], summary["wrong"]) == (1, 1, 0)
    data = json.loads(out.read_text())["care_sessions"]
    sustained, brief = data["per_session"]["emocare"]
    assert 6.0 <= sustained["care_t"][0] <= 23.0 and brief["care_t"] == []


def test_make_sessions_renders_videos_that_match_their_truth(tmp_path):
    subprocess.run([sys.executable, str(TOOLS / "make_sessions.py"), "--dataset", str(DATA / "crops"),
                    "--out", str(tmp_path), "--per-kind", "1", "--seed", "3"], check=True, capture_output=True)
    videos = bs.session_videos([tmp_path])
    assert [v.stem for v in videos] == ["brief00", "calm00", "happy00", "sad00"]
    for v in videos:
        rows = bs.read_truth(bs.truth_path(v))
        cap = cv2.VideoCapture(str(v))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(rows)
        cap.release()
    labels = [label for _, label in bs.read_truth(tmp_path / "sad00.truth.csv")]
    assert labels[0] == "neutral" and "sad" in labels and labels[-1] == "neutral"
    assert labels.count("sad") >= 10 * FPS


def test_make_sessions_renders_a_fixed_plan_and_refuses_a_bad_one(tmp_path):
    """--plan: the shared sessions' shapes (tests/data/sessions_agreed was made so), fractional seconds included."""
    tool = [sys.executable, str(TOOLS / "make_sessions.py"), "--dataset", str(DATA / "crops"), "--out", str(tmp_path),
            "--per-kind", "1", "--seed", "3"]
    subprocess.run([*tool, "--plan", "neutral:2,sad:1.47,happy:1", "--name", "dip"], check=True, capture_output=True)
    labels = [label for _, label in bs.read_truth(tmp_path / "dip.truth.csv")]
    assert labels == ["neutral"] * 2 * FPS + ["sad"] * round(1.47 * FPS) + ["happy"] * FPS
    cap = cv2.VideoCapture(str(tmp_path / "dip.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(labels)
    cap.release()
    r = subprocess.run([*tool, "--plan", "neutral:2,glum:3"], capture_output=True, text=True)
    assert r.returncode != 0 and "--plan neutral:2,glum:3" in r.stderr and "'glum:3'" in r.stderr


def test_make_sessions_renders_a_webcam_frame_and_refuses_a_bad_one(tmp_path):
    """--frame 640x480: #26's detection-time target is set at a webcam's frame, not the sessions' 640x360."""
    tool = [sys.executable, str(TOOLS / "make_sessions.py"), "--dataset", str(DATA / "crops"), "--out", str(tmp_path),
            "--per-kind", "1", "--seed", "3", "--plan", "neutral:1,sad:1", "--name", "cam"]
    subprocess.run([*tool, "--frame", "640x480", "--tilt", "30"], check=True, capture_output=True)
    cap = cv2.VideoCapture(str(tmp_path / "cam.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape[:2] == (480, 640)
    for bad in ("640", "640x48", "wide"):
        r = subprocess.run([*tool, "--frame", bad], capture_output=True, text=True)
        assert r.returncode != 0 and f"--frame {bad}:" in r.stderr
    r = subprocess.run([*tool, "--frame", "320x180", "--face-size", "130-200"], capture_output=True, text=True)
    assert r.returncode != 0 and "(24 to 159 in a 320x180 frame)" in r.stderr
    # turned, the largest face is smaller (it reaches further out): refused in a line, not a traceback
    r = subprocess.run([*tool, "--tilt", "30", "--face-size", "300-339"], capture_output=True, text=True)
    assert r.returncode != 0 and "(24 to 238 turned in a 640x360 frame)" in r.stderr and "Traceback" not in r.stderr
    subprocess.run([*tool, "--tilt", "30", "--face-size", "238-238"], check=True, capture_output=True)


def test_mood_and_frame_agreement_are_counted_once_a_journal_line():
    lines = [{"type": "mood", "t": float(t), "id": 1, "primary": True, "raw": "fear",
              "mood": "neutral" if t < 6 else "sad" if t < 21 else "uncertain"} for t in range(26)]
    lines.append({"type": "mood", "t": 7.0, "id": 2, "primary": False, "raw": "sad", "mood": "sad"})  # not the primary
    s = bs.score(records() + lines, SUSTAINED, DEFAULTS)
    assert s.samples == 26
    assert s.mood_right == 6 + 14  # neutral 0-5, sad 6-19; sad at 20 s is already neutral truth, uncertain never right
    assert s.raw_right == 0
    assert bs.summary([s])["mood_right"] == pytest.approx(20 / 26)


def test_care_replay_scores_other_settings_on_the_recorded_answers(tmp_path):
    """tools/care_replay.py: the engine runs once; each setting is then scored as bench --sessions scores it."""
    record = tmp_path / "answers.pkl"
    cmd = [sys.executable, str(TOOLS / "care_replay.py"), str(AGREED / "sad_sustained.mp4"), "--record", str(record)]
    r = subprocess.run([*cmd, "persist_s=5,30"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.startswith("persist_s=")]
    assert lines[0].startswith("persist_s=5.0: comforted 1/1 when due, 0 wrong")
    assert lines[1].startswith("persist_s=30.0: comforted 0/0 when due, 0 wrong")  # 14 s of sadness: none due
    assert record.is_file()
    again = subprocess.run([*cmd, "bogus=1"], capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "no setting 'bogus'" in again.stderr
