"""Small things the help and the summaries say, checked so they stay true."""

import json

from typer.testing import CliRunner

from emocare.cli import app
from emocare.report import summarize

runner = CliRunner()


def test_config_names_the_file_emocare_config_points_to(tmp_path, monkeypatch):
    cfg = tmp_path / "mine.toml"
    cfg.write_text('lang = "zh"\n')
    monkeypatch.setenv("EMOCARE_CONFIG", str(cfg))
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"# config file: {cfg}"
    assert 'lang = "zh"' in result.stdout


def test_models_help_lists_only_real_subcommands():
    result = runner.invoke(app, ["models", "--help"], env={"COLUMNS": "120"})
    assert " list" not in result.stdout.split("Commands")[0]
    for sub in ("download", "import", "build-random"):
        assert sub in result.stdout


def test_our_flags_show_no_type_placeholders():
    for command in ([], ["analyze"], ["watch"], ["bench"], ["train"], ["report"], ["models"], ["models", "download"],
                    ["voices"], ["voices", "cache"], ["config"]):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        options = [line for line in result.stdout.splitlines() if "--" in line]
        assert any("--help" in line for line in options), command  # Typer's own flag included
        assert not [line for line in options if "<bool>" in line or "<str>" in line], command


def test_one_primary_person_in_a_summary():
    records = [{"type": "start", "t": 0}]
    for t in range(10):  # person 1 is primary for 7 s, person 2 (bigger for a moment) for 3 s
        records.append({"type": "mood", "t": float(t), "id": 1, "mood": "happy", "primary": t < 7})
        records.append({"type": "mood", "t": float(t), "id": 2, "mood": "neutral", "primary": t >= 7})
    people = summarize(records).people
    assert [p.id for p in people if p.primary] == [1]
    assert json.dumps([p.id for p in people])


def test_every_long_running_command_says_ctrl_c_exits_130():
    """The README's exit table: 130 for an interrupted run; each command that can run long says so in its help."""
    for command in (["analyze"], ["watch"], ["bench"], ["train"]):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert "130 Ctrl-C" in " ".join(result.stdout.split()), command


def test_train_help_speaks_plainly():
    """No project history in the options' help: 'generation 5' means nothing to whoever trains a model (issue #28)."""
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split()).lower()
    assert "--arch" in text and "vgg10" in text
    for jargon in ("generation", "distil:", "the head", "temperature."):
        assert jargon not in text, jargon


def test_config_says_what_each_setting_does_and_is_still_toml(tmp_path, monkeypatch):
    """``emocare config`` listed bare names (track_grace_s = 2.5); each setting now has a comment line saying what it
    does, in the configured language, and the whole output still reads back as TOML."""
    import tomllib

    (tmp_path / "empty.toml").write_text('lang = "en"\n')  # not the locale's
    monkeypatch.setenv("EMOCARE_CONFIG", str(tmp_path / "empty.toml"))
    result = runner.invoke(app, ["config"])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(tomllib.loads(result.stdout)) == 25
    at = lines.index("persist_s = 5.0  # default")
    assert lines[at - 1] == "# seconds a negative mood must last before comfort"
    cfg = tmp_path / "zh.toml"
    cfg.write_text('lang = "zh"\n')
    monkeypatch.setenv("EMOCARE_CONFIG", str(cfg))
    lines = runner.invoke(app, ["config"]).stdout.splitlines()
    assert lines[lines.index("persist_s = 5.0  # default") - 1] == "# 负面情绪持续多少秒后给予安慰"
