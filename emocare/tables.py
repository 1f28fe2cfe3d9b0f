"""Tables that fit the terminal without breaking a word: a wide layout, and a narrower one below ``NARROW`` columns.

Rich shrinks a column below its longest word when a table is wider than the
terminal, and then cuts that word in two ("comforte / d"). A table whose
columns are engines or moods cannot help it at 80 columns; ``ByWidth`` shows
another arrangement of the same figures there (a column per engine becomes
a row per engine, and so on).
"""

from __future__ import annotations

NARROW = 100  # below this many columns, the narrow layout


class ByWidth:
    """A renderable that is ``wide`` on a terminal at least ``at`` columns wide, else ``narrow``."""

    def __init__(self, wide, narrow, at: int = NARROW):
        self.wide = wide
        self.narrow = narrow
        self.at = at

    def __rich_console__(self, console, options):
        yield self.wide if options.max_width >= self.at else self.narrow


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 care event``, ``2 care events``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"
