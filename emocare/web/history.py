"""The history page's data: sessions by day, time in each mood, timelines with care events, a week.

Journals are read only from the listed places (``Places``): the user data folder's journals, and the files or
folders given with ``--journal``/``--history``. The page names a journal by its place's number and its file
name (``1/watch-20261126-182255.jsonl``); ``Places.resolve`` refuses any name with a separator or ``..``, a
number not listed, and a symlink that leads out of its folder.

Each journal is parsed once per change of its size or modification time (``History``): the summaries are
kept in memory and in the user cache folder, and ``serve`` reads them all once as it starts, so the page
shows a month of journals without reading them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Sequence

from emocare import journal as journal_mod
from emocare.errors import JournalError
from emocare.report import MOOD_ORDER, summarize

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.jsonl")
GAP_S = 2.0  # a person unseen this long ends a timeline segment


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


@dataclass(frozen=True)
class SessionView:
    """One ``watch``/``serve`` session of a journal, as the history shows it."""

    ref: str  # the journal's "place/name"
    index: int  # which session of that journal (a reused journal holds several)
    started: datetime
    source: str
    engine: str
    duration_s: float
    seconds: dict[str, float]  # time in each mood of the person care acted for
    segments: tuple[tuple[float, float, str], ...]  # (from, to, mood) of that person
    care: tuple[dict, ...]  # the comfort actions: t, mood, action, message, lang, note
    changes: int
    ended: str | None

    @property
    def day(self) -> date:
        return self.started.date()

    @property
    def tracked_s(self) -> float:
        return sum(self.seconds.values())

    @classmethod
    def from_json(cls, d: dict) -> "SessionView":
        return cls(ref=d["ref"], index=int(d["index"]), started=datetime.fromisoformat(d["started"]),
                   source=d["source"], engine=d["engine"], duration_s=float(d["duration_s"]),
                   seconds={k: float(v) for k, v in d["seconds"].items()},
                   segments=tuple((float(a), float(b), str(m)) for a, b, m in d["segments"]),
                   care=tuple(d["care"]), changes=int(d["changes"]), ended=d["ended"])

    def to_json(self) -> dict:
        return {"ref": self.ref, "index": self.index, "started": self.started.isoformat(timespec="seconds"),
                "source": self.source, "engine": self.engine, "duration_s": round(self.duration_s, 1),
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "segments": [[round(a, 2), round(b, 2), m] for a, b, m in self.segments],
                "care": list(self.care), "changes": self.changes, "ended": self.ended}


@dataclass
class Day:
    day: date
    sessions: list[SessionView] = field(default_factory=list)

    @property
    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.sessions:
            for mood, v in s.seconds.items():
                out[mood] = out.get(mood, 0.0) + v
        return out

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.sessions)

    @property
    def care_count(self) -> int:
        return sum(len(s.care) for s in self.sessions)


@dataclass(frozen=True)
class JournalView:
    ref: str
    path: Path
    sessions: tuple[SessionView, ...]
    error: str | None = None


def _started(start: dict, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(start["started"]))
    except (KeyError, ValueError):
        return fallback


def _segments(moods: list[dict]) -> tuple[tuple[float, float, str], ...]:
    out: list[list] = []
    for i, r in enumerate(moods):
        t = float(r["t"])
        nxt = float(moods[i + 1]["t"]) if i + 1 < len(moods) else t + 1.0
        end = min(nxt, t + GAP_S)
        if out and out[-1][2] == r["mood"] and t - out[-1][1] <= 1e-6:
            out[-1][1] = end
        else:
            out.append([t, end, r["mood"]])
    return tuple((a, b, m) for a, b, m in out)


def session_view(ref: str, index: int, records: list[dict], fallback: datetime) -> SessionView:
    report = summarize(records)
    lead = next((p for p in report.people if p.primary), report.people[0] if report.people else None)
    moods = sorted((r for r in records if r["type"] == "mood" and lead is not None and r["id"] == lead.id),
                   key=lambda r: r["t"])
    start = records[0] if records and records[0]["type"] == "start" else {}
    care = tuple({key: r[key] for key in ("t", "id", "mood", "action", "message", "lang", "note") if key in r}
                 for r in report.care)
    seconds = {m: lead.seconds[m] for m in MOOD_ORDER if lead is not None and lead.seconds.get(m)}
    return SessionView(ref=ref, index=index, started=_started(start, fallback), source=report.source,
                       engine=report.engine, duration_s=report.duration_s, seconds=seconds,
                       segments=_segments(moods), care=care, changes=report.changes, ended=report.ended)


def read_journal(ref: str, path: Path) -> JournalView:
    """Every session of one journal (an unreadable journal is a view with ``error``, never an exception)."""
    try:
        stat = path.stat()
        records = journal_mod.read(path)
    except (OSError, JournalError) as exc:
        return JournalView(ref, path, (), error=str(exc))
    mtime = datetime.fromtimestamp(stat.st_mtime)
    views = []
    for i, run in enumerate(journal_mod.sessions(records)):
        duration = max((r["t"] for r in run), default=0.0)
        views.append(session_view(ref, i, run, mtime - timedelta(seconds=duration)))
    return JournalView(ref, path, tuple(views))


class History:
    """The journals of ``places``, each parsed again only when its size or modification time changes; the
    summaries are kept in memory and, when ``cache_dir`` is given, on disk (a summary that cannot be read or
    written there is simply parsed again)."""

    VERSION = 1

    def __init__(self, places: Places, cache_dir: Path | None = None, max_cached: int = 4000):
        self.places = places
        self.cache_dir = cache_dir
        self.max_cached = max_cached
        self._lock = threading.Lock()
        self._cache: OrderedDict[Path, tuple[tuple[int, int], JournalView]] = OrderedDict()

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
        view = self._load(ref, path, key)
        if view is None:
            view = read_journal(ref, path)
            if view.error is None:
                self._store(path, key, view)
        with self._lock:
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
            pass

    def all(self) -> tuple[list[SessionView], list[JournalView]]:
        """Every session, newest first, and the journals that could not be read."""
        sessions, broken = [], []
        for ref, path in self.places.journals():
            view = self.journal(ref, path)
            if view.error:
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
