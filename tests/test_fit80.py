"""At 80 columns every --help and every table emocare prints keeps its words whole.

The check: the words of the 80-column text are exactly the words of the same
text laid out 400 columns wide. A word cut across two lines ("comforte",
"d"), or cut short with "…", makes the two lists differ. The commands come
from the CLI itself, so a new command is checked without being named here.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from emocare.lab import bench_report
from emocare.cli import app
from emocare.tables import ByWidth
from test_tables import _report

runner = CliRunner()
BOX = re.compile(r"[\u2500-\u257f]")  # rich's table borders


def words(text: str) -> list[str]:
    """The words, without the "|" between figures (dropped where a line breaks there)."""
    return sorted(w for w in BOX.sub(" ", text).split() if w != "|")


def commands(group=None, path=()):
    """Every command path of the CLI, groups included: ("",), ("analyze",), ("models", "import"), ..."""
    import typer

    group = group or get_command(app)
    yield path
    if hasattr(group, "list_commands"):
        ctx = typer.Context(group)
        for name in group.list_commands(ctx):
            yield from commands(group.get_command(ctx, name), (*path, name))


def help_text(path, columns: int) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, (path, result.output)
    return result.stdout


@pytest.mark.parametrize("path", list(commands()), ids=lambda p: " ".join(p) or "emocare")
def test_help_fits_80_columns_with_every_word_whole(path):
    narrow, wide = help_text(path, 80), help_text(path, 400)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert words(narrow) == words(wide), path
    assert "…" not in narrow
    for python_type in ("{", "<list", "<str>", "<int>", "<path>", "<bool>", "[default"):
        assert python_type not in narrow, (path, python_type)
    assert "Analyse" not in narrow and "analysed" not in narrow  # one spelling: analyze
    # no one-word column: beside the options, descriptions keep at least 40 columns, or go on the lines below
    for line in narrow.splitlines():
        m = re.match(r"^  (-\S.*?)  +(\S.*)$", line)
        if m:
            assert len(line) - m.start(2) >= 30 or len(line) < 60, line


def test_every_option_has_a_description():
    import typer

    missing = []
    for path in commands():
        cmd = get_command(app)
        ctx = typer.Context(cmd)
        for name in path:
            cmd = cmd.get_command(ctx, name)
        for p in cmd.params:
            if not getattr(p, "hidden", False) and not (getattr(p, "help", None) or "").strip():
                missing.append(f"{' '.join(path)} {p.opts[0] if p.opts else p.name}")
    assert not missing, missing


def render(renderable, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(renderable)
    return buf.getvalue()


def assert_whole_at_80(renderables) -> None:
    for r in renderables:
        narrow = render(r, 80)
        reference = render(r.narrow if isinstance(r, ByWidth) else r, 400)
        assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
        assert "…" not in narrow, narrow
        assert words(narrow) == words(reference), narrow


def test_bench_tables_keep_their_words_at_80():
    assert_whole_at_80(bench_report.tables(_report()))


def test_bench_sessions_tables_keep_their_words_at_80():
    engines = ("emocare", "emocare-fer", "emocare-deepface")
    sessions = ["out/sessions/sad_sustained_a_long_session_name.mp4", "out/sessions/happy_calm_seed11.mp4"]
    cell = {"care_t": [12.3, 75.0], "wrong": 1, "changes": 3}
    data = {"sessions": sessions, "per_session": {e: [cell, cell] for e in engines},
            "summary": {e: {"comforted": 14, "due": 15, "wrong": 2, "changes_per_min": 1.23, "mean_delay_s": 4.56,
                            "mood_right": 0.876, "raw_right": 0.765} for e in engines}}
    assert_whole_at_80(bench_report.sessions_tables(data))


def _journal(tmp_path, people=(1, 2), care=1):
    from emocare.faces import EMOTIONS

    records = [{"type": "start", "t": 0, "source": "/a/very/long/path/to/a/session/recording.mp4",
                "engine": "emocare-deepface"}]
    for t in range(40):
        for pid in people:
            records.append({"type": "mood", "t": float(t), "id": pid, "mood": (*EMOTIONS, "uncertain")[(t + pid) % 8],
                            "valence": "neutral", "primary": pid == 1})
    for k in range(care):
        records.append({"type": "care", "t": 12.3 + k, "id": 1, "mood": "sad", "action": "message",
                        "message": "I'm here with you. It's okay to feel sad for a while; take the time you need."})
    records.append({"type": "end", "t": 40.0, "reason": "end of source", "summary": {}})
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, records


def test_report_tables_keep_their_words_at_80(tmp_path):
    from emocare.report import summarize, tables

    _, records = _journal(tmp_path)
    assert_whole_at_80(tables(summarize(records)))


def test_report_command_at_80_columns_says_one_care_event(tmp_path):
    path, _ = _journal(tmp_path, care=1)
    result = runner.invoke(app, ["report", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80 and "…" not in result.stdout
    flat = " ".join(result.stdout.split())
    assert "| 1 care event" in flat and "1 care events" not in flat
    # the heading's figures break between them, never inside one ("ended: end of" / "source")
    assert any(line.startswith(("ended: end of source", "1 care event | ended: end of source"))
               or line.endswith("| ended: end of source") for line in result.stdout.splitlines()), result.stdout


def test_report_heading_breaks_only_between_its_figures():
    from emocare.report import Report, tables

    report = Report(source="tests/data/a_long_session_name_recorded.mp4", engine="emocare-deepface",
                    duration_s=2.4, changes=2, people=[], care=[], ended="end of source")  # 50.0 changes/min
    for width in (80, 60, 40):
        buf = io.StringIO()
        console = Console(file=buf, width=width)
        for part in tables(report)[:2]:
            console.print(part)
        lines = buf.getvalue().splitlines()
        assert max(len(line) for line in lines) <= width, lines
        for whole in ("emocare-deepface", "2.4 s", "2 mood changes (50.0/min)", "0 care events",
                      "ended: end of source", "a_long_session_name_recorded.mp4"):
            assert any(whole in line for line in lines), (width, whole, lines)
        # a separator never ends a line (nothing follows it there), nor starts one
        assert not any(line.rstrip().endswith("|") or line.startswith("|") for line in lines), (width, lines)
    buf = io.StringIO()
    Console(file=buf, width=200).print(tables(report)[1])
    assert buf.getvalue().strip() == "emocare-deepface | 2.4 s | 2 mood changes (50.0/min) | 0 care events | ended: end of source"


def test_watch_stats_break_only_between_their_figures():
    from emocare.live import WatchResult
    from emocare.tables import Phrases

    result = WatchResult(reason="end of source", summary={}, analysed_frames=262, displayed_frames=0, wall_s=17.6,
                         latency_ms=[5.0, 5.1, 21.1])
    for width in (80, 60):
        buf = io.StringIO()
        Console(file=buf, width=width).print(Phrases(result.stats_phrases()))
        lines = buf.getvalue().splitlines()
        assert max(len(line) for line in lines) <= width and len(lines) > 1, lines
        for whole in ("analysis 14.9 fps", "(262 frames in 17.6 s)", "analysis latency p50 5.1 ms"):
            assert any(whole in line for line in lines), (width, whole, lines)
    assert result.stats_text().startswith("stats: display off (headless), analysis 14.9 fps (262 frames")


def _cells(text: str) -> list[list[str]]:
    """Each table line of ``text`` as its cells' text."""
    return [[" ".join(c.split()) for c in re.split(r"[│┃]", line)[1:-1]] for line in text.splitlines()
            if line.startswith(("│", "┃"))]


def test_models_at_80_columns_shows_each_folder_and_file_name_whole(monkeypatch):
    """The path column cut every path in 14-character pieces (/work/main/emo|care/models/em|otion.tflite): now each
    engine's folder is named once, whole, and its rows hold the names below it, whole."""
    from emocare.engines import registry

    monkeypatch.setenv("DEEPFACE_HOME", "/nonexistent-emocare-test")  # short enough for its title line at 80
    result = runner.invoke(app, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # a folder wider than the terminal goes on a line of its own, and breaks only after a "/"
    joined = re.sub(r"/\n", "/", "\n".join(line.rstrip() for line in lines)).replace("\n", " ")
    folders = re.findall(r" in (/\S+/)", joined)
    names = [cell for cells in _cells(result.stdout) for cell in cells]
    for source in registry.MODEL_SOURCES:
        for f in source.model_files():
            # the engine's folder once in its title, the file's name below it (relative to it) whole in a row
            assert any(str(f.path).startswith(d) and str(f.path)[len(d):] in names for d in folders), \
                (f.path, result.stdout)


def test_models_notes_wrap_between_words_and_keep_a_quoted_command_whole(monkeypatch):
    """The notes under the table wrapped with trailing spaces and cut 'emocare ⏎ models download' in two."""
    monkeypatch.setenv("DEEPFACE_HOME", "/nonexistent-emocare-test")  # the weights-missing note is shown
    result = runner.invoke(app, ["models"], env={"COLUMNS": "80"})
    notes = [line for line in result.output.splitlines() if not BOX.search(line)]
    assert notes and all(line == line.rstrip() and len(line) <= 80 for line in notes), notes
    assert any("'emocare models download'" in line for line in notes), notes


def _long_named_photos(tmp_path):
    from conftest import DATA

    photos = tmp_path / "photos"
    for folder, name, source in (("edge_cases", "pyfeat_BWPictureHuman_grayscale_copy.jpg", "pyfeat_single_face.jpg"),
                                 ("multi_face", "pyfeat_multi_face.jpg", "pyfeat_multi_face.jpg"),
                                 ("no_face", "pyfeat_free-mountain-vector-01.jpg", "pyfeat_free-mountain-vector-01.jpg")):
        (photos / folder).mkdir(parents=True)
        (photos / folder / name).write_bytes((DATA / source).read_bytes())
    return photos


def _assert_emotions_whole(text: str) -> None:
    """No cell ends with an emotion whose confidence went to the next line (``surprise`` / ``0.00``)."""
    from emocare.faces import EMOTIONS

    for cells in _cells(text):
        for cell in cells:
            tokens = cell.split()
            if tokens and tokens[-1].rstrip(",") in EMOTIONS:
                assert len(tokens) == 1, (cell, text)  # the dominant emotion's own column
            if tokens and re.fullmatch(r"\d\.\d\d,?", tokens[0]):
                assert len(tokens) == 1 and not tokens[0].endswith(","), (cell, text)  # a conf column


def test_analyze_at_80_columns_keeps_names_and_emotions_whole(tmp_path):
    photos = _long_named_photos(tmp_path)
    result = runner.invoke(app, ["analyze", "--jobs", "1", str(photos)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    # the folder they share, named once, whole: after "photos, in", or on a line of its own where that is too long
    assert any(line.rstrip().endswith(f" {photos}/") or line.rstrip() == f"{photos}/"
               for line in result.stdout.splitlines()), result.stdout
    for path in photos.rglob("*.jpg"):
        assert any(str(path.relative_to(photos)) in c or path.name in c for c in sum(_cells(result.stdout), [])), (
            path, result.stdout)
    _assert_emotions_whole(result.stdout)


def test_analyze_details_at_80_columns_keeps_titles_and_top_3_whole(tmp_path):
    photos = _long_named_photos(tmp_path)
    result = runner.invoke(app, ["analyze", "--details", "--jobs", "1", str(photos)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    about = [line for line in lines if re.search(r"\(\d+x\d+, [\w-]+, \d+ ms\)", line)]
    assert len(about) == 3, result.stdout  # each photo's size, engine and time on one line
    for path in photos.rglob("*.jpg"):
        assert any(path.name in line for line in lines), (path, result.stdout)
    _assert_emotions_whole(result.stdout)


def test_report_tables_in_chinese_say_it_in_chinese_and_fit_80_columns(tmp_path):
    """watch --lang zh summed its session up in English (session:, mood changes, person, ended: end of source)."""
    from rich.cells import cell_len

    from emocare.report import summarize, tables

    _, records = _journal(tmp_path)
    for width in (80, 120):
        buf = io.StringIO()
        console = Console(file=buf, width=width)
        for part in tables(summarize(records), "zh"):
            console.print(part)
        out = buf.getvalue()
        assert all(cell_len(line) <= width for line in out.splitlines()), out
        for said in ("会话：", "40.0 秒", "次情绪变化", "1 次安慰", "结束：来源已结束", "#1（主要）", "安慰记录", "难过"):
            assert said in out, (width, said, out)
        rest = out.split("\n", 1)[1]  # (the first line names the source, whose path says "session")
        assert not re.search(r"\b(session|person|mood changes?|care events?|ended|primary)\b", rest), out
