"""One settings type for every command, with where each value came from.

Precedence: command line > config file (``--config PATH``, default
``<user config dir>/emocare/config.toml``) > built-in default. The config
file uses the same names as the ``Settings`` fields, flat at top level;
``[messages.en]`` / ``[messages.zh]`` tables override the comfort messages.
"""

from __future__ import annotations

import locale
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Mapping

from emocare.errors import ConfigError

# The engine and detector names a setting may take come from the engine registry, read where they are checked
# (validate), so that the pure stages that take their defaults from here (tracking, smoothing, care.policy) load
# no engine code.
LANGS = ("en", "zh")


class Smoothing(StrEnum):
    """How the rolling window averages: the plain mean over the window, or an exponential moving average."""

    MEAN = "mean"
    EMA = "ema"


class CareMode(StrEnum):
    """Whom care acts for: the primary (largest, steady) face, or everyone in view."""

    PRIMARY = "primary"
    ALL = "all"


@dataclass(frozen=True)
class Settings:
    # engine
    engine: str = "auto"
    detector: str = "auto"  # blazeface for emocare's own path, opencv (Haar) for the libraries
    max_side: int = 1280  # larger frames are downscaled for detection; boxes stay in original pixels
    # capture
    camera: int = 0
    size: str = "640x480"
    reconnect_timeout_s: float = 10.0  # keep reconnecting a lost camera/stream this long
    stream_timeout_s: float = 5.0  # opening a stream, and each read, give up after this long
    # rolling window
    window_s: float = 3.0
    hold_s: float = 1.0
    min_confidence: float = 0.30
    keep_confidence: float = 0.25  # an adopted mood stays while it leads with this share (<= min_confidence)
    smoothing: Smoothing = Smoothing.MEAN
    gap_reset_s: float = 3.0
    track_grace_s: float = 2.5
    negative: tuple[str, ...] = ("sad", "angry", "fear", "disgust")
    positive: tuple[str, ...] = ("happy", "surprise")
    # averaged negative mass at which valence turns negative: a number, or "auto" for the emotion model's own (the
    # one its description declares, measured on care sessions), else 0.6 (NEGATIVE_THRESHOLD)
    negative_threshold: float | str = "auto"
    positive_threshold: float = 0.5
    # care
    care: CareMode = CareMode.PRIMARY
    persist_s: float = 5.0
    cooldown_s: float = 60.0
    reset_s: float = 10.0
    quiet: bool = False
    audio: str = "auto"  # "auto", "none" or "file:DIR"
    lang: str = ""  # "" = from the system locale
    # overridable comfort messages: {"en": {"sad": [...]}, "zh": {...}}
    messages: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.lang or system_language()

    def frame_size(self) -> tuple[int, int]:
        try:
            w, h = (int(v) for v in self.size.lower().split("x"))
        except ValueError:
            raise ConfigError(f"size: expected WIDTHxHEIGHT such as 640x480, got {self.size!r}") from None
        if not (0 < w <= 10000 and 0 < h <= 10000):
            raise ConfigError(f"size: {self.size!r} is not a camera resolution (1..10000 x 1..10000)")
        return w, h


@dataclass(frozen=True)
class TrainPlan:
    """``emocare train``'s defaults (the recipe the shipped model was trained with, on 2 CPU cores)."""

    epochs: int = 70
    batch_size: int = 64
    patience: int = 12  # epochs without a better validation accuracy before stopping
    seed: int = 1
    lr: float = 2e-3  # peak learning rate of the warm-up + cosine schedule
    distill: float = 0.5  # with --teacher: weight of the teacher's probabilities in each training label
    arch: str = "small"  # the network: small (shipped), wide (it, wider) or a larger teacher (vgg, vgg10, resnet18)
    teacher_views: int = 0  # with --teacher: augmented copies of each face the teachers read before training
    teacher_temperature: float = 1.0  # with --teacher: the temperature their probabilities are softened at
    labels: str = "soft"  # with --votes: train on each face's vote distribution (soft) or its most-voted emotion (majority)
    class_weights: bool = True  # weigh each face's loss by 1/sqrt(its class's count) (the rare disgust counts more)


DEFAULTS = Settings()  # the built-in defaults, for components and help texts: written once, in Settings


def system_language(env: Mapping[str, str] | None = None) -> str:
    """'zh' when the user's locale is Chinese, else 'en'."""
    env = os.environ if env is None else env
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "zh" if loc.lower().startswith("zh") else "en"


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("emocare")) / "config.toml"


FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def _messages(value: Any) -> dict:
    """``{lang: {emotion: [text, ...]}}``, or ConfigError naming the key that is wrong."""
    from emocare.faces import EMOTIONS

    if not isinstance(value, Mapping):
        raise ConfigError("messages: expected tables such as [messages.en]")
    out = {}
    for lang, table in value.items():
        if lang not in LANGS:
            raise ConfigError(f"messages.{lang}: unknown language (use {', '.join(LANGS)})")
        if not isinstance(table, Mapping):
            raise ConfigError(f"messages.{lang}: expected a table of emotion = [\"text\", ...]")
        out[lang] = {}
        for emo, texts in table.items():
            if emo not in EMOTIONS:
                raise ConfigError(f"messages.{lang}.{emo}: unknown emotion (use {', '.join(EMOTIONS)})")
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, (list, tuple)) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                raise ConfigError(f"messages.{lang}.{emo}: expected a list of non-empty strings")
            out[lang][emo] = tuple(texts)
    return out


def _threshold(value: Any) -> float | str:
    """``negative_threshold``: "auto", or a share of the probability above 0 and at most 1."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"negative_threshold: cannot use {value!r} (\"auto\" or a number expected)") from None
    if not 0 < number <= 1:
        raise ConfigError(f"negative_threshold: {number} is not between 0 and 1")
    return number


def _coerce(name: str, value: Any) -> Any:
    default = getattr(DEFAULTS, name)
    if name == "messages":
        return _messages(value)
    if name == "negative_threshold":
        return _threshold(value)
    if isinstance(default, Enum):
        try:
            return type(default)(str(value).strip())
        except ValueError:
            allowed = " or ".join(f"'{m.value}'" for m in type(default))
            raise ConfigError(f"{name}: {value!r} is not {allowed}") from None
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError  # camera = 1.9 is not camera 1
            if isinstance(value, str):
                value = value.strip()
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
            if not math.isfinite(number):
                raise ValueError  # nan turns every mood 'uncertain'; inf never comforts
            return number
        if isinstance(default, tuple):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError):
        kind = {"int": "a whole number", "float": "a finite number", "bool": "true or false"}.get(
            type(default).__name__, type(default).__name__)
        raise ConfigError(f"{name}: cannot use {value!r} ({kind} expected)") from None


MIN_MAX_SIDE = 128  # BlazeFace's input is 128x128: a detection copy smaller than that only loses faces


def validate(s: Settings) -> Settings:
    from emocare.faces import EMOTIONS

    if s.camera < 0:
        raise ConfigError(f"camera: {s.camera} is not a camera index (0, 1, ...; see 'emocare watch --list-cameras')")
    from emocare.engines import registry

    if s.detector not in registry.DETECTORS:  # auto, emocare's own path's and the libraries' own detectors
        raise ConfigError(f"detector: {s.detector!r} is not one of {', '.join(registry.DETECTORS)}")
    if s.engine not in registry.setting_values():
        raise ConfigError(f"engine: {s.engine!r} is not one of {', '.join(registry.setting_values())}")
    if s.lang and s.lang not in LANGS:
        raise ConfigError(f"lang: {s.lang!r} is not one of {', '.join(LANGS)}")
    if not (s.audio in ("auto", "none") or s.audio.startswith("file:")):
        raise ConfigError(f"audio: {s.audio!r} is not auto, none or file:DIR")
    if s.audio.startswith("file:") and not s.audio[5:].strip():
        raise ConfigError("audio: 'file:' needs a folder (file:DIR); it would write into the current folder")
    if not 0 <= s.camera <= 2**31 - 1:
        raise ConfigError(f"camera: {s.camera} is not a camera index (0, 1, ...; see 'emocare watch --list-cameras')")
    for name in ("negative", "positive"):
        bad = [e for e in getattr(s, name) if e not in EMOTIONS]
        if bad:
            raise ConfigError(f"{name}: unknown emotion(s) {', '.join(bad)}")
    for name in ("window_s", "persist_s", "max_side", "stream_timeout_s"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"{name}: must be > 0")
    if s.max_side < MIN_MAX_SIDE:  # a face shrunk below a few pixels is never found
        raise ConfigError(f"max_side: {s.max_side} is too small to find a face in (at least {MIN_MAX_SIDE}, "
                          f"the face detector's own input size)")
    for name in ("hold_s", "cooldown_s", "gap_reset_s", "track_grace_s", "reset_s", "reconnect_timeout_s"):
        if getattr(s, name) < 0:
            raise ConfigError(f"{name}: must be >= 0")
    both = [e for e in s.negative if e in s.positive]
    if both and s.positive == DEFAULTS.positive:  # negative set to take a default positive mood: it moves over
        s = replace(s, positive=tuple(e for e in s.positive if e not in both))
    elif both and s.negative == DEFAULTS.negative:  # and the other way round
        s = replace(s, negative=tuple(e for e in s.negative if e not in both))
    elif both:  # both set, and they overlap
        raise ConfigError(f"positive: {', '.join(both)} is also in negative: a mood is one or the other")
    for name in ("min_confidence", "positive_threshold"):  # negative_threshold: checked as it is read
        if not 0 <= getattr(s, name) <= 1:
            raise ConfigError(f"{name}: {getattr(s, name)} is not a share of the scores (0 to 1)")
    if not 0 <= s.keep_confidence <= s.min_confidence:
        raise ConfigError(f"keep_confidence: {s.keep_confidence} must be between 0 and min_confidence "
                          f"({s.min_confidence}): an adopted mood is kept down to it")
    s.frame_size()
    return s


def config_path(config: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file in use: ``--config``, else ``EMOCARE_CONFIG``, else the user config dir's."""
    env = os.environ if env is None else env
    if config is not None:
        return Path(config)
    return Path(env["EMOCARE_CONFIG"]) if env.get("EMOCARE_CONFIG") else default_config_path()


def load(config: Path | None = None, overrides: Mapping[str, Any] | None = None,
         env: Mapping[str, str] | None = None) -> tuple[Settings, dict[str, str]]:
    """Settings from defaults, the config file and command-line overrides.

    Returns the settings and, for every field, where its value came from.
    A config path given explicitly must exist; the default one may not.
    """
    env = os.environ if env is None else env
    explicit = config is not None or bool(env.get("EMOCARE_CONFIG"))
    path = config_path(config, env)
    origin = {f.name: "default" for f in fields(Settings)}
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config ({exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in FIELD_NAMES:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            try:
                values[name] = _coerce(name, value)
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
            origin[name] = f"config {path}"
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    _take_overrides(values, origin, overrides)
    try:
        return validate(replace(Settings(), **values)), origin
    except ConfigError as exc:
        bad = str(exc).split(":", 1)[0]
        if origin.get(bad, "").startswith("config "):
            raise ConfigError(f"{path}: {exc}") from None
        raise


def _take_overrides(values: dict[str, Any], origin: dict[str, str], overrides: Mapping[str, Any] | None) -> None:
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        values[name] = _coerce(name, value)
        origin[name] = "command line"


def without_file(overrides: Mapping[str, Any] | None = None) -> tuple[Settings, dict[str, str]]:
    """The defaults and the command line's ``overrides`` only, with where each came from: what the settings page
    shows while the config file cannot be read (the running session started with that file as it was)."""
    values: dict[str, Any] = {}
    origin = {f.name: "default" for f in fields(Settings)}
    _take_overrides(values, origin, overrides)
    return validate(replace(Settings(), **values)), origin


def as_dict(s: Settings) -> dict:
    """The settings as plain JSON values, without the comfort messages (the journal's ``start`` line)."""
    from dataclasses import asdict

    d = asdict(s)
    d.pop("messages", None)
    return d


def _toml_string(value: str) -> str:
    """A TOML basic string whose every control character is escaped (JSON escapes ESC and NUL, not C1 controls
    such as CSI, U+009B), so printing it can never drive the terminal."""
    import json

    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
                   for c in json.dumps(value, ensure_ascii=False))


def to_toml(s: Settings, origin: Mapping[str, str] | None = None, about: Mapping[str, str] | None = None) -> str:
    """The effective settings as TOML, each line commented with its origin; ``about``: what each setting does
    (by name), as a comment line above it."""
    import json

    lines = []
    for f in fields(Settings):
        value = getattr(s, f.name)
        if f.name == "messages":
            continue
        if about and about.get(f.name):
            lines.append(f"# {about[f.name]}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        elif isinstance(value, tuple):
            text = "[" + ", ".join(json.dumps(v) for v in value) + "]"
        else:
            text = _toml_string(value)
        note = f"  # {origin[f.name]}" if origin else ""
        lines.append(f"{f.name} = {text}{note}")
    for lang, table in (s.messages or {}).items():
        note = f"  # {origin['messages']}" if origin else ""
        lines.append(f"\n[messages.{lang}]{note}")
        for emo, texts in table.items():
            lines.append(f"{emo} = [" + ", ".join(_toml_string(t) for t in texts) + "]")
    return "\n".join(lines) + "\n"
