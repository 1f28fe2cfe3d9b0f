"""A comfort message in every page language: the same variant's words in English and Chinese.

The carer picks the variant of one rotation for both languages (``care.messages.Messages.pick``: the i-th of
the emotion's list in each), and the journal keeps only the words said and their language. A page in the
other language finds the words in their list and takes the other language's list at the same place, when the
two lists are each other's translation: the packaged ones. Anything else (words no list holds, the user's own
messages in either language, which may have changed since, or never been each other's translation) has no
counterpart and is shown as it was said: the page never puts words in a session's mouth.
"""

from __future__ import annotations

from typing import Mapping

from emocare.care.messages import packaged
from emocare.settings import LANGS

Table = Mapping[str, Mapping[str, tuple[str, ...]]]


class Counterparts:
    """``words(message, lang, mood)``: ``{lang: message}`` for every page language that has the message."""

    def __init__(self, overrides: Table | None = None):
        base = packaged()
        self._lists: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {}  # lang -> emotion -> (texts, own)
        found = set(base) | set(overrides or {})
        for lang in [g for g in LANGS if g in found] + sorted(found - set(LANGS)):  # the same order every run
            table = {emo: (tuple(texts), False) for emo, texts in base.get(lang, {}).items()}
            for emo, texts in ((overrides or {}).get(lang) or {}).items():
                if texts and tuple(texts) != table.get(emo, ((), False))[0]:
                    table[emo] = (tuple(texts), True)
            self._lists[lang] = table

    def _list(self, lang: str, emotion: str) -> tuple[tuple[str, ...], bool] | None:
        """The list the carer would take (``Messages.variants``): the emotion's own, else ``any``."""
        table = self._lists.get(lang) or {}
        return table.get(emotion) or table.get("any")

    def words(self, message: str, lang: str | None = None, mood: str | None = None) -> dict[str, str]:
        """The message in each language it has one in (its own language's always, once found)."""
        langs = [lang] if lang in self._lists else list(self._lists)
        for said in langs:
            table = self._lists[said]
            emotions = ([mood] if mood and mood in table else []) + [e for e in table if e != mood]
            for emotion in emotions:
                texts, own = table[emotion]
                if message not in texts:
                    continue
                i = texts.index(message)
                out = {said: message}
                for other in LANGS:
                    if other == said:
                        continue
                    key = mood if mood and emotion in (mood, "any") else emotion
                    other_texts, other_own = self._list(other, key) or ((), False)
                    if not own and not other_own and len(other_texts) == len(texts):
                        out[other] = other_texts[i]
                return out
        return {lang: message} if lang in LANGS else {}
