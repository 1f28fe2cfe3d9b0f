"""The places the history may read journals from, and the one way a page's journal name becomes a path.

The page names a journal by its place's number and its file name (``1/watch-20261126-182255.jsonl``);
``Places.resolve`` refuses any name with a separator or ``..``, a number not listed, and a symlink that leads
out of its folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

# a journal's file name as the page may name it: a letter or digit of any script first (no hidden file, nothing
# an option could be mistaken for), then letters, digits, spaces and . _ - + ( ), never a separator (``watch
# --journal 日记.jsonl`` and ``my day.jsonl`` are journals too)
NAME = re.compile(r"[^\W_][\w .+()-]{0,200}\.jsonl")


class NotAllowed(Exception):
    """A journal name that is not one of the listed journals."""


@dataclass(frozen=True)
class Place:
    path: Path  # resolved
    is_file: bool


class Places:
    """The folders (and single files) the history may read, numbered in the order given."""

    def __init__(self, paths: Sequence[Path]):
        places: list[Place] = []
        for p in paths:
            real = Path(p).expanduser().resolve()
            place = Place(real, real.is_file() or (real.suffix == ".jsonl" and not real.is_dir()))  # may come later
            if place not in places:
                places.append(place)
        self.places = tuple(places)

    def journals(self) -> list[tuple[str, Path]]:
        """``(ref, path)`` of every journal in the places, symlinks out of a folder left out."""
        out = []
        for i, place in enumerate(self.places):
            if place.is_file:
                if place.path.is_file():
                    out.append((f"{i}/{place.path.name}", place.path))
                continue
            try:
                names = sorted(entry.name for entry in place.path.iterdir() if NAME.fullmatch(entry.name))
            except OSError:  # a folder not made yet (no session so far), or unreadable
                continue
            for name in names:
                try:
                    out.append((f"{i}/{name}", self.resolve(i, name)))
                except (NotAllowed, FileNotFoundError):
                    continue
        return out

    def resolve(self, index: int, name: str) -> Path:
        """The journal ``name`` of place ``index``; ``NotAllowed`` for anything else, ``FileNotFoundError`` if
        it is gone."""
        if not NAME.fullmatch(name or "") or ".." in name:
            raise NotAllowed(f"{name!r} is not a journal name")
        if not 0 <= index < len(self.places):
            raise NotAllowed(f"no journal place {index}")
        place = self.places[index]
        if place.is_file:
            if name != place.path.name:
                raise NotAllowed(f"{name!r} is not the journal listed as place {index}")
            candidate = place.path
        else:
            candidate = place.path / name
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise FileNotFoundError(name) from None
        if not place.is_file and real.parent != place.path:
            raise NotAllowed(f"{name!r} leads out of its folder")
        if not real.is_file():
            raise FileNotFoundError(name)
        return real

