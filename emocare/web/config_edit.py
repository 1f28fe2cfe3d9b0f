"""The settings page's one edit: the comfort messages per emotion and language, saved into the config file.

A form gives one message per line for each emotion and language; an empty box means the packaged words.
Only the lists that differ from the packaged ones are written, as ``[messages.LANG]`` tables; the rest of the
file (its other keys and comments) is kept as it was. The new file is checked the way every command reads it
(``settings.load``) before it replaces the old one (``os.replace``); an edit that fails any check is refused
with the reason, and the old file stays untouched.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import unicodedata
from pathlib import Path
from typing import Mapping

from emocare.care.messages import packaged
from emocare.errors import ConfigError
from emocare.faces import EMOTIONS
from emocare.settings import LANGS

MAX_VARIANTS = 12
MAX_CHARS = 300
FIELD = re.compile(r"msg-([a-z]+)-([a-z]+)")
MESSAGES_HEADER = re.compile(r"""\s*\[\s*(?:messages|"messages"|'messages')\s*[.\]]""")
ANY_HEADER = re.compile(r"\s*\[")


class EditRefused(Exception):
    """The edit was not saved; the message says why, and the config file is as it was."""


def editable(settings) -> list[str]:
    """The emotions whose words can be set: those comfort is given for, and those with packaged words."""
    base = packaged()
    wanted = set(settings.negative) | {e for table in base.values() for e in table}
    return [e for e in EMOTIONS if e in wanted]


def effective(settings) -> dict[str, dict[str, tuple[tuple[str, ...], bool]]]:
    """``{lang: {emotion: (texts, from the config file?)}}`` as the carer would use them."""
    base = packaged()
    out: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {}
    for lang in LANGS:
        table = base.get(lang, {})
        overrides = (settings.messages or {}).get(lang, {})
        out[lang] = {}
        for emo in editable(settings):
            if overrides.get(emo):
                out[lang][emo] = (tuple(overrides[emo]), True)
            else:
                out[lang][emo] = (tuple(table.get(emo) or table.get("any") or ()), False)
    return out


class Refusal(str):
    """A box's reason in English (the string itself), with ``code`` and ``params`` for a page to say it in its
    own language (``strings.toml``'s ``refuse_<code>``)."""

    code: str
    params: dict

    def __new__(cls, text: str, code: str, **params):
        obj = super().__new__(cls, text)
        obj.code, obj.params = code, params
        return obj


def parse_form(form: Mapping[str, str], settings) -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, str]]:
    """``(edits, errors)``: the lists the form gives (an empty box: the packaged words), and a reason per bad box."""
    allowed = set(editable(settings))
    edits: dict[str, dict[str, tuple[str, ...]]] = {lang: {} for lang in LANGS}
    errors: dict[str, str] = {}
    for key, value in form.items():
        m = FIELD.fullmatch(key)
        if m is None:
            continue
        lang, emo = m.groups()
        if lang not in LANGS or emo not in allowed:
            errors[key] = Refusal(f"{lang}/{emo}: not an editable message list", "not_editable", lang=lang, emo=emo)
            continue
        lines = [line.strip() for line in str(value).replace("\r\n", "\n").split("\n")]
        lines = [line for line in lines if line]
        bad = next((line for line in lines if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in line)),
                   None)
        if bad is not None:
            errors[key] = Refusal("a message holds a control character", "control")
        elif len(lines) > MAX_VARIANTS:
            errors[key] = Refusal(f"{len(lines)} messages; at most {MAX_VARIANTS}", "too_many", n=len(lines),
                                  most=MAX_VARIANTS)
        elif any(len(line) > MAX_CHARS for line in lines):
            errors[key] = Refusal(f"a message is longer than {MAX_CHARS} characters", "too_long", most=MAX_CHARS)
        else:
            edits[lang][emo] = tuple(lines)
    return edits, errors


def overrides_of(edits: Mapping[str, Mapping[str, tuple[str, ...]]], settings) -> dict[str, dict[str, tuple[str, ...]]]:
    """What the config file must hold: every list that differs from the packaged words (an empty box: none),
    and the config's own lists for emotions the form did not show."""
    base = packaged()
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for lang in LANGS:
        table = dict((settings.messages or {}).get(lang, {}))
        for emo, texts in edits.get(lang, {}).items():
            table.pop(emo, None)
            if texts and tuple(texts) != tuple(base.get(lang, {}).get(emo, ())):
                table[emo] = tuple(texts)
        if table:
            out[lang] = {emo: table[emo] for emo in EMOTIONS if emo in table}
    return out


def render_tables(overrides: Mapping[str, Mapping[str, tuple[str, ...]]]) -> str:
    lines = []
    for lang, table in overrides.items():
        lines.append(f"[messages.{lang}]")
        for emo, texts in table.items():
            lines.append(f"{emo} = [" + ", ".join(json.dumps(t, ensure_ascii=False) for t in texts) + "]")
        lines.append("")
    return "\n".join(lines)


def strip_messages(text: str) -> str:
    """``text`` without its ``[messages…]`` tables (each runs to the next table header)."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if ANY_HEADER.match(line):
            inside = bool(MESSAGES_HEADER.match(line))
        if not inside:
            out.append(line)
    return "".join(out)


def save(path: Path, edits: Mapping[str, Mapping[str, tuple[str, ...]]], settings) -> dict:
    """Write the messages into the config file at ``path``; the overrides written. ``EditRefused`` otherwise."""
    from emocare import settings as settings_mod

    path = Path(path)
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise EditRefused(f"{path}: cannot read the config file ({exc})") from None
    try:
        old_data = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise EditRefused(f"{path}: the config file is not valid TOML ({exc}); fix it by hand first") from None
    kept = strip_messages(old)
    rest = {k: v for k, v in old_data.items() if k != "messages"}
    try:
        if tomllib.loads(kept) != rest:
            raise ValueError
    except (tomllib.TOMLDecodeError, ValueError):
        raise EditRefused(f"{path}: its messages are not written as [messages.LANG] tables; "
                          "edit that file by hand") from None
    overrides = overrides_of(edits, settings)
    new = kept.rstrip() + ("\n\n" if kept.strip() else "") + render_tables(overrides)
    new = new.rstrip() + "\n" if new.strip() else ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    except OSError as exc:
        raise EditRefused(f"{path}: cannot write next to the config file ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        try:
            settings_mod.load(Path(tmp), env={})
        except ConfigError as exc:
            raise EditRefused(str(exc).replace(tmp, str(path))) from None
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        raise EditRefused(f"{path}: cannot write the config file ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return overrides
