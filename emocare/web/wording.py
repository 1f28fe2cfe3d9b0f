"""The pages' words (``strings.toml``: a table per language), read once; without Flask, so the terminal's
summary (``terminal_words``) says a session's end as the pages say it."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    text = resources.files("emocare.web").joinpath("strings.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def prefixed(lang: str, prefix: str) -> dict[str, str]:
    """The words of ``lang`` whose key starts with ``prefix`` (``about_``, ``end_``), keyed by the rest."""
    return {k[len(prefix):]: v for k, v in strings().get(lang, {}).items() if k.startswith(prefix)}
