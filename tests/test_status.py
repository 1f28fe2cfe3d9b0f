"""watch's terminal: event lines (mood changes, care) above a live status line on a terminal that fits its width,
the event lines alone elsewhere, nothing with --quiet; warnings as lines of their own."""

import io
import logging
import os
import pty
import re
import select
import struct
import subprocess
import time

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from conftest import DATA, VENV_BIN
from emocare.cli import app
from emocare.faces import Face, Faces, Mood
from emocare.records import from_json
from emocare.status import StatusLine


def _faces(t: float, label: str, ids=(1,)) -> Faces:
    scores = np.full(7, 1 / 7)
    mood = Mood(label=label, confidence=0.71, valence="negative" if label == "sad" else "neutral",
                negative_for_s=0.0, scores=scores, since=0.0)
    return Faces(faces=tuple(Face(box=(0, 0, 10, 10), scores=scores, track_id=i, mood=mood) for i in ids),
                 frame_index=int(t * 10), t=t, engine="x", ms=1.0, size=(64, 64), primary=ids[0])


def test_the_line_says_elapsed_fps_people_mood_and_last_care():
    now = [100.0]
    buf = io.StringIO()
    status = StatusLine(Console(file=buf, width=120), live=True, clock=lambda: now[0])
    for i in range(11):
        now[0] = 100.0 + i * 0.1
        status.on_faces(_faces(i * 0.1, "sad"))
    status.on_record(from_json({"type": "care", "t": 0.9, "id": 1, "action": "message", "mood": "sad"}))
    line = status.text()
    assert line == "   1.0 s · person 1 sad 71% · last care: message at 0.9 s · 10.0 fps"
    assert "*" not in line and "#" not in line  # people are named in words, by the number the window shows


def test_the_line_never_says_an_earlier_time_or_mood_than_the_event_above_it():
    """Events are journalled before the frame they came from reaches the line: at 8.6 s "neutral → sad" was printed
    above a line still saying "8.5 s · person 1 neutral"."""
    status = StatusLine(Console(file=io.StringIO(), width=120), live=True, clock=lambda: 0.0)
    status.on_faces(_faces(8.5, "neutral"))
    status.on_record(from_json({"type": "change", "t": 8.6, "id": 1, "from": "neutral", "to": "sad", "confidence": 0.6}))
    assert status.text().startswith("   8.6 s · person 1 sad 60%")
    status.on_record(from_json({"type": "care", "t": 13.5, "id": 1, "action": "message", "mood": "sad"}))
    assert status.text().startswith("  13.5 s · person 1 sad 60% · last care: message at 13.5 s")
    status.on_faces(_faces(13.6, "sad"))
    assert status.text().startswith("  13.6 s · person 1 sad 71%")


def test_on_a_narrow_terminal_the_line_says_less_instead_of_being_cut():
    status = StatusLine(Console(file=io.StringIO(), width=120), live=True, clock=lambda: 0.0)
    status.on_faces(_faces(3.0, "sad", ids=(2, 1, 3)))
    status.on_record(from_json({"type": "care", "t": 2.5, "id": 2, "action": "speech", "mood": "sad"}))
    wide = status.text()
    assert "3 people: 2 sad 71% (main), 1 sad 71%, 3 sad 71%" in wide and "last care: speech at 2.5 s" in wide
    for width in (100, 80, 60, 40, 30):
        line = status.text(width)
        assert len(line) <= width and "…" not in line, (width, line)
        assert line.endswith(("s", "%", "+2", "(main)")) and "2 sad 71% (main)" in line, (width, line)


def test_events_are_lines_of_their_own_on_a_terminal_and_elsewhere():
    for live in (False, True):
        buf = io.StringIO()
        status = StatusLine(Console(file=buf, width=120, force_terminal=live), live=live, clock=lambda: 0.0)
        with status:
            status.on_record(from_json({"type": "mood", "t": 1.0, "id": 1, "mood": "sad"}))  # not an event
            status.on_record(from_json({"type": "change", "t": 2.0, "id": 1, "from": "neutral", "to": "sad"}))
            status.on_record(from_json({"type": "care", "t": 7.5, "id": 1, "action": "message", "mood": "sad"}))
        lines = [x.strip() for x in re.split(r"[\r\n]", _plain(buf.getvalue())) if x.strip()]
        assert "2.0 s  person 1: neutral → sad" in lines, lines
        assert "7.5 s  person 1: care given (message), mood sad" in lines, lines


def test_a_warning_while_the_line_is_up_prints_as_its_own_line():
    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=True)
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("emocare: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with StatusLine(console, live=True, clock=lambda: 0.0) as status:
            status.on_faces(_faces(1.0, "sad"))
            status._live.refresh()
            logging.getLogger("emocare.care").warning("no audio output: comfort is shown on screen only")
            status._live.refresh()
        assert handler.stream is buf  # given back
    finally:
        root.removeHandler(handler)
    rows = [_plain(r) for r in re.split(r"[\r\n]", buf.getvalue())]
    said = [r for r in rows if "no audio output" in r]
    assert said and all(r.startswith("emocare: WARNING: no audio output") for r in said), rows


def test_watch_prints_events_and_quiet_prints_none(tmp_path):
    runner = CliRunner()
    args = ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--fast", "--no-window", "--audio", "none",
            "--engine", "emocare-fer", "--journal", str(tmp_path / "j.jsonl")]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0, loud.output
    assert "→" in loud.stderr  # uncertain → neutral → happy as the man smiles
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and "→" not in quiet.stderr


# ------------------------------------------------------------------ a real terminal
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _in_a_terminal(args, cols: int, rows: int = 30, timeout: float = 300) -> str:
    """Run the real ``emocare`` with stdout and stderr on a pseudo-terminal ``cols`` wide; all it wrote."""
    import fcntl
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen([str(VENV_BIN / "emocare"), *args], stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                            env=env, close_fds=True)
    os.close(child)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert proc.returncode == 0, _plain(out.decode(errors="replace"))[-3000:]
    return out.decode("utf-8", errors="replace")


def test_in_a_terminal_events_print_above_a_status_line_that_fits(tmp_path):
    cols = 72
    raw = _in_a_terminal(["watch", "--no-window", "--fast", "--audio", "none", "--journal", str(tmp_path / "j.jsonl"),
                          "--source", str(DATA / "sessions_agreed" / "sad_sustained.mp4")], cols)
    rows = [_plain(r) for r in re.split(r"[\r\n]", raw)]
    changes = [r for r in rows if re.match(r"^\s+\d+\.\d s  person \d+: \w+ → \w+$", r)]
    care = [r for r in rows if re.match(r"^\s+\d+\.\d s  person \d+: care given \(\w+\), mood \w+$", r)]
    status = [r for r in rows if re.match(r"^\s+\d+\.\d s · ", r)]
    assert changes and care and status, "\n".join(rows[-60:])
    assert max(len(r) for r in status) <= cols, max(status, key=len)
    assert not any("…" in r for r in status), status
    assert all(r.startswith("emocare:") for r in rows if "emocare:" in r), [r for r in rows if "emocare:" in r]


def test_in_chinese_the_lines_and_the_status_say_it_in_chinese_and_fit_by_columns():
    """--lang zh: the window, the comfort and the pages were Chinese and the terminal English."""
    from rich.cells import cell_len

    from emocare.status import event_line
    from emocare.terminal_words import TERMINAL

    assert all(set(TERMINAL[lang]) == set(TERMINAL["en"]) for lang in TERMINAL)
    for lang in TERMINAL:  # the same placeholders in every language
        for key, text in TERMINAL[lang].items():
            assert re.findall(r"{(\w+)", text) == re.findall(r"{(\w+)", TERMINAL["en"][key]), (lang, key)
    change = from_json({"type": "change", "t": 3.0, "id": 1, "from": "neutral", "to": "sad", "confidence": 0.8})
    care = from_json({"type": "care", "t": 9.2, "id": 1, "action": "speech", "mood": "sad"})
    assert event_line(change, "zh").strip() == "3.0 秒  人物 1：平静 → 难过"
    assert event_line(care, "zh").strip() == "9.2 秒  人物 1：已安慰（语音），情绪 难过"
    assert event_line(change).strip() == "3.0 s  person 1: neutral → sad"  # English unchanged
    assert event_line(care, "fr").strip() == "9.2 s  person 1: care given (speech), mood sad"
    status = StatusLine(Console(file=io.StringIO(), width=120), live=False, clock=lambda: 1.0, lang="zh")
    status.on_faces(_faces(5.0, "sad", ids=(1, 2)))
    status.on_record(care)
    full = status.text()
    assert "2 人：1 难过 71%（主要）, 2 难过 71%" in full and "上次安慰：语音，9.2 秒" in full, full
    for width in (60, 40, 24, 12):
        line = status.text(width)
        assert cell_len(line) <= width, (width, line)
