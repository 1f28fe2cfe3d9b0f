import pytest
from typer.testing import CliRunner

from emocare import settings
from emocare.cli import app
from emocare.errors import ConfigError


def test_precedence_and_origin(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('engine = "fer"\nwindow_s = 4.5\nnegative = ["sad"]\n[messages.en]\nsad = ["hello"]\n')
    s, origin = settings.load(cfg, {"window_s": 2.0, "detector": None})
    assert s.engine == "fer" and origin["engine"].startswith("config")
    assert s.window_s == 2.0 and origin["window_s"] == "command line"
    assert s.negative == ("sad",)
    assert s.detector == "auto" and origin["detector"] == "default"
    assert s.messages == {"en": {"sad": ("hello",)}}


def test_default_path_is_optional_but_explicit_must_exist(tmp_path):
    settings.load(None, {})
    with pytest.raises(ConfigError, match="not found"):
        settings.load(tmp_path / "nope.toml", {})


@pytest.mark.parametrize("text,match", [
    ("engine = 'x'", "engine"),
    ("bogus = 1", "unknown setting"),
    ("window_s = 'abc'", "window_s"),
    ("negative = ['grumpy']", "grumpy"),
    ("engine = ", "invalid TOML"),
    ("keep_confidence = 0.4", "keep_confidence.*between 0 and min_confidence"),
    ("min_confidence = 0.2", "keep_confidence"),
    ("min_confidence = 2", "bad.toml: min_confidence: 2.0 is not a share of the scores"),  # was taken: all uncertain
    ("min_confidence = -1", "bad.toml: min_confidence: -1.0 is not a share"),  # blamed keep_confidence
    ("positive_threshold = 1.5", "positive_threshold: 1.5 is not a share"),
    ("positive = ['sad']\nnegative = ['sad', 'fear']", "bad.toml: positive: sad is also in negative"),
])
def test_bad_config_is_one_clear_line(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        settings.load(cfg, {})


def test_config_command_prints_origins(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('persist_s = 7.0\n')
    result = CliRunner().invoke(app, ["config", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert f"persist_s = 7.0  # config {cfg}" in result.stdout
    assert "engine = \"auto\"  # default" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("engine = 3 = 4")
    result = CliRunner().invoke(app, ["config", "--config", str(bad)])
    assert result.exit_code == 2 and "invalid TOML" in result.stderr


def test_default_config_file_in_user_dir(tmp_path, monkeypatch):
    path = settings.default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("cooldown_s = 30.0\n")
    s, origin = settings.load(None, {})
    assert s.cooldown_s == 30.0


def test_language_from_locale():
    assert settings.system_language({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert settings.system_language({"LANG": "en_GB.UTF-8"}) == "en"


def test_the_negative_threshold_is_auto_unless_given(tmp_path):
    """"auto" (the default): the emotion model's own threshold; a number in the config or on the command line wins."""
    s, origin = settings.load(config=None, env={"EMOCARE_CONFIG": ""})
    assert s.negative_threshold == "auto"
    cfg = tmp_path / "c.toml"
    cfg.write_text("negative_threshold = 0.5\n")
    assert settings.load(config=cfg)[0].negative_threshold == 0.5
    cfg.write_text('negative_threshold = "auto"\n')
    assert settings.load(config=cfg)[0].negative_threshold == "auto"
    assert 'negative_threshold = "auto"' in settings.to_toml(s)  # and it reads back
    for bad, said in (("1.5", "not between 0 and 1"), ("0", "not between 0 and 1"), ('"half"', '"auto" or a number'),
                      ("true", '"auto" or a number')):
        cfg.write_text(f"negative_threshold = {bad}\n")
        with pytest.raises(ConfigError, match=said):
            settings.load(config=cfg)


def test_a_mood_moved_to_one_side_leaves_the_other_default(tmp_path):
    """negative = [..., "surprise"] alone worked before the overlap check (negative wins): it still does, and the
    default positive list lets surprise go; only both lists set by the user, overlapping, are refused."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('negative = ["sad", "angry", "fear", "disgust", "surprise"]\n')
    s, _ = settings.load(cfg, {})
    assert s.positive == ("happy",) and "surprise" in s.negative
    cfg.write_text('positive = ["happy", "surprise", "sad"]\n')
    s, _ = settings.load(cfg, {})
    assert s.negative == ("angry", "fear", "disgust") and "sad" in s.positive

