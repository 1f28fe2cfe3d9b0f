"""The CLI through Typer's runner and as a real subprocess of the installed entry point."""

import json
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA, VENV_BIN
from emocare.cli import app
from emocare.faces import EMOTIONS

runner = CliRunner()


def _json(stdout: str) -> list:
    """``analyze --json``'s output: JSON Lines, one object per image (files and folders alike)."""
    return [json.loads(line) for line in stdout.splitlines()]


def _check_schema(item):
    assert set(item) == {"source", "engine", "faces", "ms"}
    assert isinstance(item["ms"], float)
    for face in item["faces"]:
        assert set(face) >= {"box", "emotions", "dominant", "confidence"}
        assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
        assert list(face["emotions"]) == list(EMOTIONS)
        assert abs(sum(face["emotions"].values()) - 1) < 1e-4
        assert face["dominant"] == max(face["emotions"], key=face["emotions"].get)


def test_analyze_json_schema_and_exit_0(tmp_path):
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--json",
                                 str(DATA / "pyfeat_single_face.jpg"), str(DATA / "deepface_patreon_banner.png")])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2  # one line per image, for files as for folders
    data = _json(result.stdout)
    assert [len(d["faces"]) for d in data] == [1, 0]  # no face is a result, not an error
    for item in data:
        _check_schema(item)
        assert item["engine"] == "fer"


def test_bad_inputs_are_reported_and_the_rest_analysed(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((DATA / "deepface_img12.jpg").read_bytes()[:300])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    missing = tmp_path / "missing.jpg"
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--json", str(empty), str(corrupt), str(text),
                                 str(missing), str(DATA / "deepface_img12.jpg")])
    assert result.exit_code == 1
    data = _json(result.stdout)
    errors = [d for d in data if "error" in d]
    assert len(errors) == 4
    for d in errors:
        assert d["error"].startswith(d["source"])
    assert "empty file" in errors[0]["error"]
    assert "no such file" in errors[3]["error"]
    assert len([d for d in data if "faces" in d]) == 1
    assert "Traceback" not in result.stderr
    for d in errors:
        assert d["source"] in result.stderr


def test_unreadable_folder_is_reported(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # root reads any folder, so stand in for the permission check
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--json", str(locked), str(DATA / "deepface_img12.jpg")])
    assert result.exit_code == 1
    data = _json(result.stdout)
    assert data[0] == {"source": str(locked), "error": f"{locked}: folder cannot be read (permission denied)"}
    assert len(data[1]["faces"]) == 1


def test_folders_are_searched_recursively(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.jpg").write_bytes((DATA / "deepface_img12.jpg").read_bytes())
    (tmp_path / "a" / "y.PNG").write_bytes((DATA / "deepface_patreon_banner.png").read_bytes())
    (tmp_path / "a" / "readme.txt").write_text("ignored")
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--json", "--jobs", "1", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # JSON Lines: one object per image as it is done
    assert sorted(Path(json.loads(line)["source"]).name for line in lines) == ["x.jpg", "y.PNG"]


def test_folder_on_two_processes_equals_one(tmp_path):
    for name in ("pyfeat_single_face.jpg", "pyfeat_multi_face.jpg", "deepface_img12.jpg", "deepface_patreon_banner.png"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    one = runner.invoke(app, ["analyze", "--json", "--jobs", "1", str(tmp_path)])
    two = runner.invoke(app, ["analyze", "--json", "--jobs", "2", str(tmp_path)])
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    strip = lambda out: [{k: v for k, v in json.loads(line).items() if k != "ms"} for line in out.splitlines()]  # noqa: E731
    assert strip(one.stdout) == strip(two.stdout)  # same answers, same order
    assert [len(x["faces"]) for x in strip(one.stdout)] == [1, 0, 5, 1]  # sorted by name


def test_folder_table_has_a_row_per_image_and_a_summary(tmp_path):
    for name in ("pyfeat_single_face.jpg", "pyfeat_multi_face.jpg"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["analyze", "--jobs", "1", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code == 1
    assert result.stdout.count("pyfeat_multi_face.jpg") == 1 and "failed" in result.stdout
    assert "summary" in result.stdout and "3 (1 failed, 0 with no face)" in result.stdout
    assert "faces" in result.stdout and "6" in result.stdout


def test_crops_classify_the_whole_image():
    crop = DATA / "fer_val210" / "happy"
    result = runner.invoke(app, ["analyze", "--crops", "--json", "--jobs", "1", str(sorted(crop.iterdir())[0])])
    assert result.exit_code == 0, result.output
    item = _json(result.stdout)[0]
    assert len(item["faces"]) == 1 and item["faces"][0]["box"] == [0, 0, 48, 48]


def test_table_output_and_no_face_line():
    result = runner.invoke(app, ["analyze", "--engine", "fer", str(DATA / "deepface_patreon_banner.png"),
                                 str(DATA / "pyfeat_single_face.jpg")])
    assert result.exit_code == 0
    assert "no face found" in result.stdout
    assert "happy" in result.stdout


def test_annotate_draws_boxes(tmp_path):
    out = tmp_path / "ann"
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--json", "--annotate", str(out), str(DATA / "pyfeat_single_face.jpg")])
    assert result.exit_code == 0, result.output
    files = list(out.glob("*.png"))
    assert len(files) == 1
    drawn = cv2.imread(str(files[0]))
    original = cv2.imread(str(DATA / "pyfeat_single_face.jpg"))
    assert drawn is not None and drawn.shape[0] >= original.shape[0] and drawn.shape[1] > original.shape[1]
    drawn = drawn[:original.shape[0], :original.shape[1]]  # the photo, in its own pixels; its card is to the right
    x, y, w, h = _json(result.stdout)[0]["faces"][0]["box"]
    diff = np.abs(drawn.astype(int) - original.astype(int)).sum(axis=2) > 60
    assert diff[y:y + h, x].mean() > 0.8  # the left edge of the box is drawn
    assert diff[y:y + h, x + w // 2].mean() < 0.2  # the middle of the face is not painted over


def test_annotate_one_photo_to_a_file_name(tmp_path):
    """``--annotate out.jpg`` with one photo writes that JPEG (not a folder named out.jpg); with two it is a usage
    error that suggests a folder, and nothing is written."""
    photo = str(DATA / "pyfeat_single_face.jpg")
    out = tmp_path / "sub" / "out.jpg"
    result = runner.invoke(app, ["analyze", "--json", "--annotate", str(out), photo])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    drawn, original = cv2.imread(str(out)), cv2.imread(photo)
    assert drawn.shape[0] >= original.shape[0] and drawn.shape[1] > original.shape[1]  # the photo and its card
    two = tmp_path / "two.png"
    result = runner.invoke(app, ["analyze", "--json", "--annotate", str(two), photo, photo])
    assert result.exit_code == 2 and not two.exists()
    assert "one image file for 2 photos" in result.output and "--annotate" in result.output


def test_explicit_deepface_without_weights_exit_5(empty_deepface_home):
    result = runner.invoke(app, ["analyze", "--engine", "deepface", str(DATA / "deepface_img12.jpg")])
    assert result.exit_code == 5
    assert "facial_expression_model_weights.h5" in result.stderr
    assert "Traceback" not in result.stderr


def test_auto_uses_emocares_own_model_quietly_without_deepface_weights(empty_deepface_home):
    result = runner.invoke(app, ["analyze", "--json", str(DATA / "deepface_img12.jpg")])
    assert result.exit_code == 0
    assert _json(result.stdout)[0]["engine"] == "emocare"
    assert result.stderr.strip() == ""  # nothing to warn about: the shipped model is the offline default


def test_deepface_engine_json(deepface_home):
    result = runner.invoke(app, ["analyze", "--engine", "deepface", "--json", str(DATA / "pyfeat_single_face.jpg")])
    assert result.exit_code == 0, result.output
    item = _json(result.stdout)[0]
    _check_schema(item)
    assert item["engine"] == "deepface" and len(item["faces"]) == 1


def test_usage_error_is_exit_2():
    result = runner.invoke(app, ["analyze", "--engine", "fer", "--no-such-flag", "x.jpg"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["analyze", "--engine", "nonsense", "x.jpg"])
    assert result.exit_code == 2
    assert "engine" in result.stderr


def test_models_table_lists_both_engines(empty_deepface_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "deepface" in result.stdout and "fer" in result.stdout
    assert "emotion_model_quantized.tflite" in result.stdout
    assert "facial_expression_model_weights.h5" in result.stdout
    # the library is there, its weights are not: not "installed" alone, which read as ready (--engine deepface: 5)
    assert "deepface: installed, files missing, in" in result.stdout and "emocare: installed, in" in result.stdout


def test_models_download_offline_is_a_clear_error(empty_deepface_home):
    result = runner.invoke(app, ["models", "download"])
    assert result.exit_code == 5
    assert "Traceback" not in result.stderr


def test_real_subprocess_json(tmp_path):
    exe = VENV_BIN / "emocare"
    env = dict(os.environ)
    out = subprocess.run([str(exe), "analyze", "--engine", "fer", "--json", str(DATA / "pyfeat_multi_face.jpg"),
                          str(tmp_path / "missing.png")], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 1
    data = _json(out.stdout)  # stdout is only JSON Lines: no library chatter
    assert len(data[0]["faces"]) == 4
    _check_schema(data[0])
    assert data[1] == {"source": str(tmp_path / "missing.png"), "error": f"{tmp_path / 'missing.png'}: no such file"}
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args, says", [(["--window", "-1"], "--window: must be > 0"),
                                        (["--stream-timeout", "0"], "--stream-timeout: must be > 0"),
                                        (["--hold", "-2"], "--hold: must be >= 0"),
                                        (["--cooldown", "inf"], "--cooldown: cannot use inf")])
def test_a_bad_option_value_is_named_by_its_flag_not_its_setting(args, says, tmp_path):
    """The README's exit table: a bad option's message names the option (the config file's key is window_s)."""
    (tmp_path / "empty.toml").write_text("")
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--no-window",
                                 "--config", str(tmp_path / "empty.toml"), *args])
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    (tmp_path / "bad.toml").write_text("window_s = -1\n")
    result = runner.invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--no-window",
                                 "--config", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2 and "bad.toml: window_s: must be > 0" in result.stderr, result.stderr


def test_two_photos_of_one_name_are_two_rows_that_can_be_told_apart(tmp_path):
    """The table showed base names only: two pyfeat_multi_face.jpg rows, which was which?"""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "pyfeat_multi_face.jpg").write_bytes((DATA / "pyfeat_multi_face.jpg").read_bytes())
    result = runner.invoke(app, ["analyze", "--jobs", "1", str(tmp_path / "a" / "pyfeat_multi_face.jpg"),
                                 str(tmp_path / "b" / "pyfeat_multi_face.jpg")], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert f"{tmp_path}/" in result.stdout.replace("photos, in\n", "photos, in ")  # the folder they share, once
    assert "a/pyfeat_multi_face.jpg" in result.stdout and "b/pyfeat_multi_face.jpg" in result.stdout
    # a relative path and an absolute one (the reviewer's case): the paths as given
    relative = os.path.relpath(DATA / "pyfeat_multi_face.jpg")
    result = runner.invoke(app, ["analyze", "--jobs", "1", relative, str(tmp_path / "a" / "pyfeat_multi_face.jpg")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert relative in result.stdout and str(tmp_path / "a" / "pyfeat_multi_face.jpg") in result.stdout


def test_a_folder_of_videos_points_to_watch(tmp_path):
    """A folder holding only videos said "no image files in it", as an empty one does; it now says where to go."""
    (tmp_path / "clips" / "more").mkdir(parents=True)
    for name in ("a.mp4", "more/b.avi"):
        (tmp_path / "clips" / name).write_bytes(b"x")
    result = runner.invoke(app, ["analyze", str(tmp_path / "clips")])
    assert result.exit_code == 1
    assert "clips: no image files in it (2 videos: emocare watch --source VIDEO)" in result.stderr, result.stderr


def test_an_empty_folder_is_a_bad_input_alone_or_among_others(tmp_path):
    """It was dropped silently beside other inputs (exit 0, no JSON object) and an error only when alone."""
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "nothere.jpg"
    says = f"{empty}: no image files in it"
    result = runner.invoke(app, ["analyze", "--json", str(empty), str(missing)])
    assert result.exit_code == 1
    assert _json(result.stdout) == [{"source": str(empty), "error": says},
                                    {"source": str(missing), "error": f"{missing}: no such file"}]
    assert f"emocare: {says}" in result.stderr.splitlines() and "Traceback" not in result.stderr
    result = runner.invoke(app, ["analyze", "--jobs", "1", str(empty), str(DATA / "deepface_img12.jpg")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"emocare: {says}"]
    assert "happy" in result.stdout and "failed" in result.stdout  # the photo is still analysed
    for args in ([str(empty)], ["--json", str(empty)]):
        result = runner.invoke(app, ["analyze", *args])
        assert result.exit_code == 1 and result.stderr.splitlines() == [f"emocare: {says}"], result.stderr


@pytest.mark.parametrize("text", ["", "   "])
def test_say_with_nothing_to_say_is_a_usage_error(text):
    """`say ""` blamed gTTS and a missing espeak-ng (exit 1), though neither was the trouble."""
    result = runner.invoke(app, ["say", text, "--audio", "none"])
    assert result.exit_code == 2 and "nothing to say" in result.stderr and "espeak" not in result.output, result.output


def test_say_that_plays_nothing_fails_the_audio_test(tmp_path, monkeypatch):
    """`say` is how an audio setup is tested: with no audio output it said "nothing was played" and exited 0."""
    from emocare.care import sound, speech

    wav = tmp_path / "line.wav"
    wav.write_bytes(b"RIFF")
    monkeypatch.setattr(speech.Speech, "render", lambda self, text, lang, **kw: speech.Rendered(wav, "cache"))
    monkeypatch.setattr(sound.Player, "play", lambda self, path, name: None)  # no audio output
    result = runner.invoke(app, ["say", "hello", "--lang", "en"])
    assert result.exit_code == 1 and "not played" in result.stdout, result.output
    result = runner.invoke(app, ["say", "hello", "--lang", "en", "--audio", "none"])  # asked for no sound: fine
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, line", [
    (["bogus"], "emocare: error: No such command 'bogus'."),
    (["analyze", "--jobs", "abc", "x.jpg"], "emocare: error: analyze: Invalid value for '--jobs'"),
])
def test_a_usage_error_names_the_command_once(args, line):
    """It said 'emocare: error: emocare analyze: ...' and 'emocare: error: emocare: No such command'."""
    for exe in ([str(VENV_BIN / "emocare")], [str(VENV_BIN / "python"), "-m", "emocare"]):
        out = subprocess.run([*exe, *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr.startswith(line) and out.stderr.count("\n") == 1, out.stderr


def test_a_truncated_photo_says_so_without_brackets_in_brackets(tmp_path):
    """Pillow's 'image file is truncated (2 bytes not processed)' was put inside emocare's own brackets."""
    from emocare.errors import InputError
    from emocare.images import load_image

    data = (DATA / "deepface_img12.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError) as exc:
        load_image(tmp_path / "cut.jpg")
    message = str(exc.value)
    assert "corrupt or truncated image (" in message and message.count("(") == 1 and message.endswith(")"), message


def test_report_speaks_the_language_the_session_was_watched_in(tmp_path):
    """watch --lang zh then a plain 'report' summed the session up in English."""
    import json

    records = [{"type": "start", "t": 0.0, "source": "camera 0", "engine": "emocare", "config": {"lang": "zh"}},
               {"type": "mood", "t": 1.0, "id": 1, "mood": "sad", "primary": True},
               {"type": "end", "t": 2.0, "reason": "video cut short", "summary": {}}]
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(app, ["report", str(path)], env={"COLUMNS": "120"})
    assert result.exit_code == 0 and "会话：camera 0" in result.stdout and "结束：视频提前中断" in result.stdout, result.stdout
    path.write_text(path.read_text().replace('"lang": "zh"', '"lang": "en"'))
    result = runner.invoke(app, ["report", str(path)], env={"COLUMNS": "120"})
    assert "session: camera 0" in result.stdout and "ended: video cut short" in result.stdout, result.stdout


@pytest.mark.parametrize("args, says", [
    (["analyze", ""], 'analyze: an empty argument ("")'),
    (["analyze", "x.jpg", "--annotate", ""], "analyze: --annotate: an empty value"),
    (["analyze", "--details", ""], 'analyze: an empty argument ("")'),  # --details takes no value
    (["analyze", "--", ""], 'analyze: an empty argument ("")'),
    (["watch", "--source", ""], "watch: --source: an empty value"),
    (["report", "--plot=", "j.jsonl"], "report: --plot: an empty value"),
    (["--verbose", "watch", "--journal", ""], "watch: --journal: an empty value"),
    (["models", "import", ""], 'models import: an empty argument ("")'),
    (["watch", "--lang", "", "--source", "x.mp4"], None),  # --lang "": the system locale's, as lang = "" is
    (["analyze", "--", "--x="], None),  # a file of that name
    (["say", ""], None),  # say has its own words for it ("nothing to say")
])
def test_an_empty_argument_is_a_usage_error_not_the_current_folder(args, says):
    """Click read "" as the current folder: 'analyze ""' analysed everything under it, '--annotate ""' wrote there."""
    import typer

    from emocare.usage import empty_argument, flag_options

    said = empty_argument(args, flag_options(typer.main.get_command(app)))
    assert (said is None) if says is None else said.startswith(says), said


def test_an_empty_path_analyses_nothing(tmp_path):
    r = subprocess.run([str(VENV_BIN / "emocare"), "analyze", ""], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("emocare: error: analyze: an empty argument"), r.stderr
    assert r.stdout == ""



@pytest.mark.parametrize("args, said", [
    (["watch", "--list-cameras", "--source", "clip.mp4"], "--list-cameras lists the cameras that open, then exits"),
    (["watch", "--list-cameras", "--camera", "1"], "it takes no --camera, --source or --size"),
    (["watch", "--source", "clip.mp4", "--size", "320x240"], "--size sets a camera's resolution"),
    (["serve", "--source", "rtsp://cam/1", "--size", "320x240"], "a --source video or stream keeps its own"),
    (["watch", "--camera", "1", "--source", "clip.mp4"], "--camera and --source cannot be used together"),
    (["serve", "--camera", "1", "--source", "clip.mp4"], "--camera and --source cannot be used together"),
])
def test_source_options_that_would_be_dropped_are_refused(args, said):
    """--list-cameras ignored --source, and --size was dropped for a video or stream without a word."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and result.stderr.startswith("emocare: error: ") and result.stderr.count("\n") == 1
    assert said in result.stderr and result.stdout == ""


def test_serve_history_takes_journals_and_folders_only(tmp_path):
    """``serve --history notes.jpg`` was taken, and the history page then listed a file it could not open."""
    notes = tmp_path / "notes.jpg"
    notes.write_bytes(b"\xff\xd8\xff")
    result = runner.invoke(app, ["serve", "--no-camera", "--history", str(notes)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"--history {notes}: not a journal (a .jsonl file, or a folder of them)" in result.stderr
    dashed = tmp_path / "-x.jsonl"  # a name the page cannot link to
    dashed.write_text("")
    result = runner.invoke(app, ["serve", "--no-camera", "--history", str(dashed)])
    assert result.exit_code == 2 and "a name the history cannot show (rename it" in result.stderr
