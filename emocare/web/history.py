"""The history page's data: sessions by day, time in each mood, timelines with care events, a week.

Journals are read only from the listed places (``Places``): the user data folder's journals, and the files or
folders given with ``--journal``/``--history``. The page names a journal by its place's number and its file
name (``1/watch-20261126-182255.jsonl``); ``Places.resolve`` refuses any name with a separator or ``..``, a
number not listed, and a symlink that leads out of its folder.

Each journal is read once per change of its size or modification time (``History``): the summaries are
kept in memory and in the user cache folder, and ``serve`` reads them all once as it starts. Reading is fast
without them too: a month of journals (100,000 lines) is summarised in a few tenths of a second of CPU, its
mood lines read by their shape rather than parsed one by one (see "reading a journal, fast" in ``journal_read``).

Here: the cache (``History``) and the history page's queries (``by_day``, ``week``). The places are
``places.Places``, the views ``sessions``, the reading ``journal_read.read_journal``; all importable from here.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import Sequence

from emocare.report import MOOD_ORDER
from emocare.web.journal_read import GAP_S, read_journal
from emocare.web.places import NAME, NotAllowed, Place, Places
from emocare.web.sessions import Day, JournalView, SessionView

__all__ = ["GAP_S", "NAME", "Day", "History", "JournalView", "NotAllowed", "Place", "Places", "SessionView", "by_day",
           "read_journal", "week"]


class History:
    """The journals of ``places``, each parsed again only when its size or modification time changes; the
    summaries are kept in memory and, when ``cache_dir`` is given, on disk (a summary that cannot be read or
    written there is simply parsed again). New summaries go to disk on ``save``, which the pages call once
    they are sent, so a first visit does not wait for the writing."""

    VERSION = 2  # 2: the last timeline segment ends with the journal (not 1 s past it)

    def __init__(self, places: Places, cache_dir: Path | None = None, max_cached: int = 4000):
        self.places = places
        self.cache_dir = cache_dir
        self.max_cached = max_cached
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._cache: OrderedDict[Path, tuple[tuple[int, int], JournalView]] = OrderedDict()
        self._unsaved: dict[Path, tuple[tuple[int, int], JournalView]] = {}
        self._names: set[str] | None = None  # the cache folder's files, listed once rather than tried one by one

    def journal(self, ref: str, path: Path) -> JournalView:
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = (0, 0)
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == key:
                self._cache.move_to_end(path)
                return hit[1]
        with self._reading:  # one reader at a time: serve's first read and a page's never parse a journal twice
            with self._lock:
                hit = self._cache.get(path)
                if hit is not None and hit[0] == key:
                    return hit[1]
            return self._read(ref, path, key)

    def _read(self, ref: str, path: Path, key: tuple[int, int]) -> JournalView:
        view = self._load(ref, path, key)
        fresh = view is None
        if fresh:
            view = read_journal(ref, path)
        with self._lock:
            if fresh and view.error is None and not view.left_out and self.cache_dir is not None and key != (0, 0):
                self._unsaved[path] = (key, view)
            self._cache[path] = (key, view)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return view

    def _cache_file(self, path: Path) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha256(str(path).encode()).hexdigest()[:32] + ".json")

    def _load(self, ref: str, path: Path, key: tuple[int, int]) -> JournalView | None:
        file = self._cache_file(path)
        if file is None or key == (0, 0):
            return None
        if self._names is None:
            try:
                self._names = set(os.listdir(self.cache_dir))
            except OSError:
                self._names = set()
        if file.name not in self._names:
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            if data.get("version") != self.VERSION or data.get("path") != str(path) or tuple(data["key"]) != key:
                return None
            return JournalView(ref, path, tuple(SessionView.from_json({**s, "ref": ref}) for s in data["sessions"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store(self, path: Path, key: tuple[int, int], view: JournalView) -> None:
        file = self._cache_file(path)
        if file is None or key == (0, 0):
            return
        data = {"version": self.VERSION, "path": str(path), "key": list(key),
                "sessions": [s.to_json() for s in view.sessions]}
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{threading.get_ident()}")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, file)
        except OSError:
            return
        if self._names is not None:
            self._names.add(file.name)

    def save(self) -> None:
        """Write the summaries read since the last ``save`` to the cache folder."""
        with self._lock:
            unsaved, self._unsaved = self._unsaved, {}
        for path, (key, view) in unsaved.items():
            self._store(path, key, view)

    def all(self) -> tuple[list[SessionView], list[JournalView]]:
        """Every session, newest first, and the journals that could not be read (in full)."""
        sessions, broken = [], []
        for ref, path in self.places.journals():
            view = self.journal(ref, path)
            if view.error or view.left_out:  # unreadable, or read with lines left out
                broken.append(view)
            sessions.extend(view.sessions)
        sessions.sort(key=lambda s: s.started, reverse=True)
        return sessions, broken


def by_day(sessions: Sequence[SessionView]) -> list[Day]:
    """Days with sessions, newest first."""
    days: dict[date, Day] = {}
    for s in sessions:
        days.setdefault(s.day, Day(s.day)).sessions.append(s)
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


def week(sessions: Sequence[SessionView], last_day: date) -> dict:
    """Minutes in each mood on each of the seven days ending ``last_day`` (the chart's data)."""
    days = [last_day - timedelta(days=6 - i) for i in range(7)]
    minutes = {m: [0.0] * 7 for m in MOOD_ORDER}
    care = [0] * 7
    for s in sessions:
        if days[0] <= s.day <= days[-1]:
            i = (s.day - days[0]).days
            for mood, v in s.seconds.items():
                minutes.setdefault(mood, [0.0] * 7)[i] += v / 60.0
            care[i] += len(s.care)
    return {"days": [d.isoformat() for d in days],
            "minutes": {m: [round(v, 2) for v in vs] for m, vs in minutes.items() if any(vs)},
            "care": care}
