"""Comfort messages: packaged defaults (``emocare/data/messages.toml``), overridable from config."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Mapping

# gTTS language codes
TTS_LANG = {"en": "en", "zh": "zh-CN"}
# espeak-ng voices
ESPEAK_VOICE = {"en": "en", "zh": "cmn"}


def packaged() -> dict[str, dict[str, tuple[str, ...]]]:
    text = resources.files("emocare").joinpath("data/messages.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {lang: {emo: tuple(v) for emo, v in table.items()} for lang, table in data.items()}


class Messages:
    """Picks message variants in rotation so the same words are not repeated back to back."""

    def __init__(self, overrides: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None):
        base = packaged()
        self.table: dict[str, dict[str, tuple[str, ...]]] = {lang: dict(t) for lang, t in base.items()}
        for lang, table in (overrides or {}).items():
            self.table.setdefault(lang, {}).update({emo: tuple(v) for emo, v in table.items() if v})
        self._next: dict[tuple[str, str], int] = {}

    def variants(self, emotion: str, lang: str) -> tuple[str, ...]:
        table = self.table.get(lang) or self.table["en"]
        return table.get(emotion) or table.get("any") or self.table["en"]["any"]

    def pick(self, emotion: str, lang: str) -> tuple[str, str]:
        """(message in ``lang``, the same variant in English as a fallback)."""
        options = self.variants(emotion, lang)
        i = self._next.get((emotion, lang), 0)
        self._next[(emotion, lang)] = i + 1
        text = options[i % len(options)]
        english = self.variants(emotion, "en")
        return text, english[i % len(english)]

    def all(self) -> list[tuple[str, str]]:
        """Every (text, lang) pair, for pre-rendering speech."""
        return [(text, lang) for lang, table in self.table.items() for texts in table.values() for text in texts]
