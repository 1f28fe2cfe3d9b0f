"""watch: headless runs over real clips, a source that fails mid-way, the journal and report, a real window."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA, VENV_BIN, ctrl_c_reaches_child
from xwindow import screen, shoot, window_id
from emocare import journal as journal_mod
from emocare.cli import app
from emocare.journal import Journal
from emocare.live import Session, WatchOptions
from emocare.pipeline import Pipeline
from emocare.records import MoodRecord, StartRecord
from emocare.sources import LiveSource, iter_video

runner = CliRunner()


def read_journal(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_headless_fast_one_person_clip(tmp_path):
    j = tmp_path / "j.jsonl"
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--fast", "--no-window",
                                 "--journal", str(j), "--engine", "fer", "--audio", "none", "--stats"])
    assert result.exit_code == 0, result.output
    recs = read_journal(j)
    assert recs[0]["type"] == "start" and recs[0]["engine"] == "fer" and recs[-1]["type"] == "end"
    assert {r["type"] for r in recs} >= {"start", "mood", "end"}
    moods = [r for r in recs if r["type"] == "mood"]
    assert {r["id"] for r in moods} == {1}  # one person, one id
    assert moods[0]["t"] < 0.2 and recs[-1]["t"] >= 2.3  # covers the whole 2.4 s clip (media time; id confirmed after 3 frames)
    ts = [r["t"] for r in moods]
    assert all(b - a <= 1.0 + 1e-6 for a, b in zip(ts, ts[1:]))  # at least once a second
    assert recs[-1]["summary"]["frames"] == 72
    assert "stats:" in result.stderr and "journal:" in result.stderr
    # the smile at the end is adopted as the steady mood
    assert moods[-1]["mood"] == "happy"


def test_headless_no_face_clip(tmp_path):
    j = tmp_path / "j.jsonl"
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_no_face.mp4"), "--fast", "--no-window",
                                 "--journal", str(j), "--engine", "fer", "--audio", "none"])
    assert result.exit_code == 0, result.output
    recs = read_journal(j)
    assert not [r for r in recs if r["type"] in ("mood", "change", "care")]
    assert recs[-1]["summary"]["frames_with_face"] == 0 and recs[-1]["t"] > 3.5
    assert "no face seen" in result.stderr


def test_missing_source_and_camera_are_one_line_errors(tmp_path):
    result = runner.invoke(app, ["watch", "--source", str(tmp_path / "nope.mp4"), "--no-window"])
    assert result.exit_code == 3 and "nope.mp4: no such file" in result.stderr
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    result = runner.invoke(app, ["watch", "--source", str(bad), "--fast", "--no-window"])
    assert result.exit_code == 3 and "bad.mp4" in result.stderr and "Traceback" not in result.stderr
    result = runner.invoke(app, ["watch", "--camera", "57", "--no-window"])
    assert result.exit_code == 3
    assert "camera 57" in result.stderr and "--list-cameras" in result.stderr


class FlakyCapture:
    """Gives ``n`` frames of a real clip, then raises like an unplugged camera."""

    def __init__(self, frames, n):
        self.frames, self.n, self.i = frames, n, 0

    def read(self):
        if self.i >= self.n:
            raise RuntimeError("device unplugged")
        frame = self.frames[self.i % len(self.frames)]
        self.i += 1
        return True, frame.copy()

    def release(self):
        pass


def test_source_failing_midway_reconnects_then_exits_cleanly(tmp_path, fer_engine):
    from emocare.errors import SourceError

    cap = cv2.VideoCapture(str(DATA / "pyfeat_single_face.mp4"))
    frames = [cap.read()[1] for _ in range(20)]
    cap.release()
    opened = []

    def opener():
        opened.append(1)
        if len(opened) == 1:
            return FlakyCapture(frames, 20)
        if len(opened) == 2:
            return FlakyCapture(frames, 10)  # comes back once, briefly
        raise SourceError("camera 0: cannot be opened")

    src = LiveSource(opener, name="camera 0", fps=30, pace=True, reconnect_timeout_s=1.0)
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.write(StartRecord(t=0.0, source="camera 0"))
        session = Session(Pipeline(fer_engine), journal, WatchOptions(source_label="camera 0", show_window=False))
        with src:
            result = session.run_live(src)
    assert len(opened) >= 3  # reconnected at least once, then kept trying
    assert result.reason == "source lost" and result.exit_code == 3
    recs = read_journal(path)
    assert recs[-2]["type"] == "error" and "lost" in recs[-2]["message"]
    assert recs[-1]["type"] == "end" and recs[-1]["reason"] == "source lost"
    assert any(r["type"] == "mood" for r in recs)  # what was analysed before the loss is kept


def test_a_held_file_stops_where_it_is_and_goes_on_from_there():
    """Pause on a file at its own rate: no frame arrives while it is held, and it resumes at the next frame."""
    src = LiveSource(lambda: cv2.VideoCapture(str(DATA / "pyfeat_single_face.mp4")), name="clip", is_file=True,
                     pace=True)
    with src:
        assert src.read(timeout=5) is not None
        src.hold(True)
        time.sleep(0.2)  # a frame being read when the hold came lands
        held = src.read(timeout=0.1)
        time.sleep(0.6)
        assert src.read(after=held.index, timeout=0.1) is None  # nothing new while held
        src.hold(False)
        resumed = src.read(after=held.index, timeout=5)
        assert resumed is not None and resumed.index <= held.index + 3  # on from where it stopped, no leap


def test_live_file_at_its_own_rate(tmp_path):
    """Without --fast a file is played at its rate; analysis skips frames but the journal still covers it."""
    j = tmp_path / "j.jsonl"
    t0 = time.monotonic()
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--no-window",
                                 "--journal", str(j), "--engine", "fer", "--audio", "none"])
    assert result.exit_code == 0, result.output
    recs = read_journal(j)
    assert recs[-1]["type"] == "end" and recs[-1]["t"] >= 2.0
    assert time.monotonic() - t0 >= 2.3  # played in real time, not faster


def test_sessions_started_in_the_same_second_get_journals_of_their_own(tmp_path):
    from datetime import datetime

    now = datetime(2026, 11, 26, 18, 22, 55)
    first = journal_mod.default_journal_path(now, tmp_path)
    assert first.name == "watch-20261126-182255.jsonl"
    first.write_text("")
    second = journal_mod.default_journal_path(now, tmp_path)
    second.write_text("")
    assert second.name == "watch-20261126-182255-2.jsonl"
    assert journal_mod.default_journal_path(now, tmp_path).name == "watch-20261126-182255-3.jsonl"


def test_journal_is_flushed_line_by_line(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path) as j:
        j.write(StartRecord(t=0.0, source="x"))
        j.write(MoodRecord(t=1.0, id=1, mood="sad"))
        assert len(path.read_text().splitlines()) == 2  # on disk before close
    with open(path, "a") as fh:
        fh.write('{"type": "mood", "t": 2.0, "id"')  # a killed process's torn last line
    assert [r.type for r in journal_mod.read(path)] == ["start", "mood"]


def test_report_summary_and_plot(tmp_path):
    j = tmp_path / "j.jsonl"
    runner.invoke(app, ["watch", "--source", str(DATA / "sessions" / "sad_brief.mp4"), "--fast", "--no-window",
                        "--journal", str(j), "--engine", "fer", "--audio", "none"])
    png = tmp_path / "timeline.png"
    result = runner.invoke(app, ["report", str(j), "--plot", str(png)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "changes/min" in result.stdout and "neutral" in result.stdout
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] > 800 and img.std() > 10
    # the same journal reused by a second run: report shows the last session
    runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_no_face.mp4"), "--fast", "--no-window",
                        "--journal", str(j), "--engine", "fer", "--audio", "none"])
    result = runner.invoke(app, ["report", str(j)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "2 sessions" in result.stdout and "no face seen" in result.stdout
    result = runner.invoke(app, ["report", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1 and "no such journal" in result.stderr


def test_report_without_a_journal_reads_the_latest_watch_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where platformdirs puts the user data dir
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 1 and "no journal yet" in result.stderr and "emocare watch" in result.stderr
    for clip in ("sad_brief.mp4", "happy_calm.mp4"):  # two sessions with default journals, the second newer
        runner.invoke(app, ["watch", "--source", str(DATA / "sessions" / clip), "--fast", "--no-window", "--engine", "fer",
                            "--audio", "none"])
    journals = sorted(journal_mod.journals_dir().glob("*.jsonl"))
    assert len(journals) == 2 and journals[0].parent == tmp_path / "data" / "emocare" / "journals"
    newest = journal_mod.latest_journal()
    assert journal_mod.read(newest)[0].source.endswith("happy_calm.mp4")
    result = runner.invoke(app, ["report"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and f"journal: {newest}" in result.stderr and "happy" in result.stdout


# ------------------------------------------------------------------ a real window under Xvfb
@pytest.fixture
def xvfb():
    with screen() as name:
        yield name


def _long_clip(tmp_path):
    """The one-person clip four times over, so the window stays up long enough to look at."""
    frames = [f.image for f in iter_video(str(DATA / "pyfeat_single_face.mp4"))]
    long_clip = tmp_path / "long.mp4"
    w = cv2.VideoWriter(str(long_clip), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for _ in range(4):
        for f in frames:
            w.write(f)
    w.release()
    return long_clip, frames


def _wait_for_window(display, proc, timeout=60):
    deadline = time.monotonic() + timeout
    wid = None
    while time.monotonic() < deadline and wid is None and proc.poll() is None:
        time.sleep(0.5)
        wid = window_id({**os.environ, "DISPLAY": display})
    return wid


def _start_watch(clip, journal, env):
    """``emocare watch`` with a real window, as its own process (so Ctrl-C and keys reach it as a user's would)."""
    return subprocess.Popen([str(VENV_BIN / "emocare"), "watch", "--source", str(clip), "--engine", "fer",
                             "--journal", str(journal), "--audio", "none"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_child)


def test_real_window_shows_the_overlay(tmp_path, xvfb):
    long_clip, frames = _long_clip(tmp_path)
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    j = tmp_path / "j.jsonl"
    proc = _start_watch(long_clip, j, env)
    try:
        wid = _wait_for_window(xvfb, proc)
        assert wid, f"no emocare window appeared: {proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(4.0)  # let analysis catch up and the mood settle
        shot = tmp_path / "shot.png"
        shoot(shot, env)  # taken again while black (see xwindow)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    if os.environ.get("EMOCARE_KEEP_SHOT"):
        shutil.copy(shot, "/tmp/emocare-window-shot.png")
    assert proc.returncode == 130, err  # Ctrl-C: clean exit, documented code
    recs = read_journal(j)
    assert recs[-1]["type"] == "end" and recs[-1]["reason"] == "interrupted"
    img = cv2.imread(str(shot))
    assert img is not None
    h, w = img.shape[:2]
    from emocare.overlay import CANVAS_BG, COLORS, plan

    lay = plan((w, h), (640, 360))  # the window draws its canvas at its own size: header, frame, panel, footer
    assert (np.abs(img[:lay.header[3] - 2, :].astype(int) - np.array(CANVAS_BG)).max(axis=2) <= 3).mean() > 0.7
    # the face box (a mood colour) surrounds where the face is in the clip, scaled into the window's stage. The shot
    # was taken at a moment the journal does not name (the clip loops, the face moves a little): one of the boxes
    # the journal gives for the face is where the window drew it
    boxes = [(lay.to_canvas(tuple(r["box"])), r["mood"]) for r in recs if r["type"] == "mood"]

    def edge(box_mood):  # how much of the box's left edge has that mood's colour
        (x0, y0, x1, y1), mood = box_mood
        strip = img[y0 + 5:y1 - 5, max(0, x0 - 5):x0 + 6].astype(int)
        return (np.abs(strip - np.array(COLORS[mood])).sum(axis=2) < 30).any(axis=1).mean()

    (x0, y0, x1, y1), _ = max(boxes, key=edge)
    assert max(map(edge, boxes)) > 0.9, "no box edge in its mood's colour where the face is"
    middle = img[y0 + 10:y1 - 10, (x0 + x1) // 2].astype(int)
    assert max((np.abs(middle - np.array(c)).sum(axis=1) < 30).mean() for c in COLORS.values()) < 0.5  # face not painted over


def test_the_plot_speaks_the_sessions_language(tmp_path, monkeypatch):
    """``report --plot`` drew English words under a Chinese session's summary; its words follow the summary's
    language, drawn with the CJK font the window uses (no glyph missing)."""
    import warnings

    from emocare import report
    from emocare.fonts import find_font
    from emocare.records import CareRecord, EndRecord, MoodRecord, StartRecord

    if find_font(True) is None:
        pytest.skip("no font on this machine draws Chinese (sudo make system-deps installs fonts-wqy-microhei)")
    drawn = {}
    real = report.save_figure
    monkeypatch.setattr(report, "save_figure", lambda fig, path: drawn.setdefault("fig", fig) and real(fig, path))
    records = [StartRecord(t=0.0, source="clip.mp4", engine="emocare"), MoodRecord(t=1.0, id=1, mood="sad"),
               CareRecord(t=2.0, id=1, mood="sad", action="speech"), MoodRecord(t=3.0, id=1, mood="happy"),
               EndRecord(t=4.0, reason="end of source")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.plot(records, tmp_path / "zh.png", lang="zh")
    ax = drawn["fig"].axes[0]
    texts = [ax.get_title(), ax.get_xlabel(), *(t.get_text() for t in ax.texts),
             *(t.get_text() for t in ax.get_legend().get_texts())]
    assert texts == ["情绪时间线 - clip.mp4（emocare）", "时间（秒）", "语音", "开心", "难过"], texts
    assert not [w for w in caught if "missing from" in str(w.message)]  # every glyph drawn, none as a box
    drawn.clear()
    report.plot(records, tmp_path / "en.png")
    ax = drawn["fig"].axes[0]
    assert [ax.get_title(), ax.get_xlabel()] == ["mood timeline - clip.mp4 (emocare)", "time (s)"]
    drawn.clear()  # a machine with no font that draws Chinese: English words, not boxes
    monkeypatch.setattr("emocare.fonts.find_font", lambda cjk: None)
    report.plot(records, tmp_path / "zh-without-font.png", lang="zh")
    ax = drawn["fig"].axes[0]
    assert [ax.get_xlabel(), ax.texts[0].get_text()] == ["time (s)", "speech"]


def test_record_writes_the_annotated_video(tmp_path):
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--fast", "--no-window",
                                 "--journal", str(tmp_path / "j.jsonl"), "--audio", "none", "--record", str(out)])
    assert result.exit_code == 0, result.output
    assert f"recording: {out}" in result.output.splitlines()  # where it went, beside the journal's line
    from emocare.overlay import plan, window_size

    frames = [f.image for f in iter_video(str(out))]
    w, h = window_size((640, 360))  # what the window would first show: frame, header, panel of scores, mood strip
    assert len(frames) == 72 and frames[0].shape == (h, w, 3)
    lay = plan((w, h), (640, 360))
    original = cv2.VideoCapture(str(DATA / "pyfeat_single_face.mp4")).read()[1]
    x0, y0, x1, y1 = lay.frame
    scaled = cv2.resize(original, (x1 - x0, y1 - y0)).astype(int)
    assert np.abs(frames[0][y0:y1, x0:x1].astype(int) - scaled).mean() < 12  # the frame is there, scaled
    panel = frames[-1][lay.panel[1]:lay.panel[3], lay.panel[0]:lay.panel[2]]
    assert (panel.max(axis=2) > 180).mean() > 0.01  # and the face's card of scores beside it


def test_window_keys_snapshot_pause_help_and_quit(tmp_path, xvfb):
    long_clip, _ = _long_clip(tmp_path)
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb", "XDG_DATA_HOME": str(tmp_path / "data")}
    j = tmp_path / "j.jsonl"
    proc = _start_watch(long_clip, j, env)
    try:
        wid = _wait_for_window(xvfb, proc)
        assert wid, "no emocare window appeared"
        for key in ("h", "s", "space", "space", "m", "q"):
            subprocess.run(["xdotool", "key", "--window", wid, key], env=env, check=True, timeout=10)
            time.sleep(0.4)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    recs = read_journal(j)
    assert recs[-1]["type"] == "end" and recs[-1]["reason"] == "quit"
    snaps = [r for r in recs if r["type"] == "snapshot"]
    assert len(snaps) == 1 and cv2.imread(snaps[0]["path"]) is not None
    snap = Path(snaps[0]["path"])
    assert snap.stat().st_mode & 0o777 == 0o600 and snap.parent.stat().st_mode & 0o777 == 0o700  # faces: private
    assert "snapshots:" in err


def test_the_plot_draws_the_seconds_the_table_adds_up_and_nothing_past_the_session(tmp_path, monkeypatch):
    """A review found the last mood's bar drawn a whole period past the session's end (2.13 → 3.13 s on a session
    that ended at 2.367 s) while the table counted 0.2 s."""
    from matplotlib.axes import Axes

    from emocare import report
    from emocare.records import EndRecord, MoodRecord, StartRecord

    bars = {}
    real = Axes.broken_barh
    monkeypatch.setattr(Axes, "broken_barh", lambda self, xranges, yrange, **kw:
                        bars.setdefault(kw["facecolors"], []).extend(xranges) or real(self, xranges, yrange, **kw))
    records = [StartRecord(t=0.0, source="clip.mp4", engine="emocare"),
               MoodRecord(t=1.1, id=1, mood="neutral"), MoodRecord(t=2.1, id=1, mood="neutral"),
               MoodRecord(t=2.13, id=1, mood="happy"), EndRecord(t=2.367, reason="end of source")]
    report.plot(records, tmp_path / "t.png")
    drawn = {m: sum(w for _, w in v) for m, v in bars.items()}
    assert max(x + w for v in bars.values() for x, w in v) == pytest.approx(2.367)
    table = report.summarize(records).people[0].seconds
    assert sorted(round(v, 3) for v in drawn.values()) == sorted(round(v, 3) for v in table.values())
    assert table["happy"] == pytest.approx(0.237)
