"""tools/detector_replay.py: BlazeFace's candidates recorded once, the confirmer replayed on them under other
settings (what docs/detection.md's 'Tried and lost' figures come from)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

import detector_replay  # noqa: E402


def _frame(name, kind, candidates, label=None):
    return {"input": name, "kind": kind, "label": label, "candidates": candidates}


def test_replay_counts_found_frames_per_emotion_and_false_frames():
    sure = [([100, 100, 80, 80], 0.8, 0.99, 0.9)]  # accepted at once
    doubted = [([10, 10, 60, 60], 0.45, 0.02, 0.3)]  # confirmed only after three still passes
    frames = ([_frame("face.mp4", "face", sure, "happy") for _ in range(4)]
              + [_frame("sad.mp4", "face", doubted, "sad") for _ in range(4)]
              + [_frame("wall.jpg:zoom", "none", doubted) for _ in range(2)])
    r = detector_replay.replay(frames, dict(detector_replay.CONFIRM))
    assert r["by_emotion"] == {"happy": 1.0, "sad": 0.5}  # the doubted face: seen from its third pass on
    assert r["worst"] == 0.5 and r["under_97"] == 1 and r["sessions"] == 2
    assert r["false_frames"] == 0  # two passes are not enough to confirm the wall's box
    r = detector_replay.replay(frames, dict(detector_replay.CONFIRM, passes=2))
    assert r["by_emotion"]["sad"] == 0.75 and r["false_frames"] == 1 and r["false_by_input"] == {"wall.jpg:zoom": 1}


def test_a_recording_made_before_onet_replays_on_the_landmark_model_alone():
    """Old recordings hold three numbers a candidate; the presence score then decides (no ONet score to ask)."""
    still = [([10, 10, 60, 60], 0.45, 0.5)]  # presence 0.5: over the old floor, and no ONet score
    frames = [_frame("old.mp4", "face", still, "sad") for _ in range(3)]
    r = detector_replay.replay(frames, dict(detector_replay.CONFIRM, floor=0.01))
    assert r["by_emotion"] == {"sad": 1 / 3}  # confirmed on the third still pass


def test_a_recording_with_onets_two_squares_replays_the_streak_on_their_mean():
    """New recordings hold ONet's score on each square: the streak takes their mean (0.05 and 0.35: 0.2, over the
    floor), ``--check first-square`` the first alone (0.05, under it: the check before the second square)."""
    still = [([10, 10, 60, 60], 0.45, 0.002, [0.05, 0.35])]
    frames = [_frame("new.mp4", "face", still, "sad") for _ in range(3)]
    assert detector_replay.replay(frames, dict(detector_replay.CONFIRM))["by_emotion"] == {"sad": 1 / 3}
    assert detector_replay.replay(frames, dict(detector_replay.CONFIRM), "first-square")["by_emotion"] == {"sad": 0.0}


def test_grid_tries_every_combination_over_the_shipped_settings():
    combos = detector_replay.grid(["passes=3,2", "floor=0.01,0.003"])
    assert len(combos) == 4 and {c["passes"] for c in combos} == {2, 3}
    assert all(c["accept"] == detector_replay.CONFIRM["accept"] for c in combos)
    with pytest.raises(SystemExit):
        detector_replay.grid(["passes"])


def test_the_tool_records_once_and_replays_a_real_session(tmp_path):
    record = tmp_path / "replay.jsonl"
    cmd = [sys.executable, str(TOOLS / "detector_replay.py"), "--faces", str(DATA / "sessions" / "happy_calm.mp4"),
           "--no-face", str(DATA / "skimage_brick.jpg"), "--record", str(record), "passes=3,2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    shipped, two = r.stdout.splitlines()
    assert re.match(r"shipped: worst (9\d|100)\.\d%", shipped) and "false frames 0 {}" in shipped
    assert two.startswith("{'passes': 2}: ")
    assert record.is_file() and len(record.read_text().splitlines()) > 120  # the video's frames, the still's 120


def test_the_closer_looks_boxes_are_marked_and_replayed_with_or_without_them():
    """A recorded candidate found by the detector's closer second look ends in a 1: it is held to the presence
    floor of such boxes, and ``--first-look`` replays without it (as before the closer look)."""
    closer = [([10, 10, 60, 60], 0.45, 0.002, [0.3, 0.3], 1)]
    ruled_out = [([10, 10, 60, 60], 0.45, 0.0005, [0.3, 0.3], 1)]
    frames = [_frame("a.mp4", "face", closer, "sad") for _ in range(3)] \
        + [_frame("b.mp4", "face", ruled_out, "angry") for _ in range(3)]
    settings = dict(detector_replay.CONFIRM)
    assert detector_replay.replay(frames, settings)["by_emotion"] == {"angry": 0.0, "sad": 1 / 3}
    assert detector_replay.replay(frames, settings, first_look=True)["by_emotion"] == {"angry": 0.0, "sad": 0.0}
    plain = [dict(f, candidates=[c[:4] for c in f["candidates"]]) for f in frames]  # the same, from the first look
    assert detector_replay.replay(plain, settings)["by_emotion"] == {"angry": 1 / 3, "sad": 1 / 3}


def test_centerfaces_score_replays_with_the_shipped_check_and_not_without_it():
    """A recorded candidate ends in CenterFace's score: a box both other networks doubt keeps its streak on it
    (0.25, over ``centre_floor``), and one ONet leans to is taken at once (0.5 and ONet's mean 0.15); ``--check
    two`` replays without it (as before CenterFace joined)."""
    streak = [([10, 10, 60, 60], 0.45, 0.002, [0.02, 0.02], 0, 0.25)]
    at_once = [([10, 10, 60, 60], 0.45, 0.002, [0.15, 0.15], 0, 0.5)]
    frames = [_frame("a.mp4", "face", streak, "sad") for _ in range(3)] \
        + [_frame("b.mp4", "face", at_once, "angry") for _ in range(3)]
    settings = dict(detector_replay.CONFIRM)
    assert detector_replay.replay(frames, settings)["by_emotion"] == {"angry": 1.0, "sad": 1 / 3}
    assert detector_replay.replay(frames, settings, "two")["by_emotion"] == {"angry": 1 / 3, "sad": 0.0}
    # the 0 before CenterFace's score says "first look": such a box is no closer-look box, whatever its presence
    assert detector_replay.replay(frames, settings, first_look=True)["by_emotion"] == {"angry": 1.0, "sad": 1 / 3}
    low = [_frame("c.mp4", "face", [([10, 10, 60, 60], 0.45, 0.0005, [0.3, 0.3], 0, None)], "fear") for _ in range(3)]
    assert detector_replay.replay(low, settings)["by_emotion"] == {"fear": 1 / 3}
