"""The history page's data: sessions by day, time in each mood, timelines with care events, a week.

Journals are read only from the listed places (``Places``): the user data folder's journals, and the files or
folders given with ``--journal``/``--history``. The page names a journal by its place's number and its file
name (``1/watch-20261126-182255.jsonl``); ``Places.resolve`` refuses any name with a separator or ``..``, a
number not listed, and a symlink that leads out of its folder.

Each journal is read once per change of its size or modification time (``History``): the summaries are
kept in memory and in the user cache folder, and ``serve`` reads them all once as it starts. Reading is fast
without them too: a month of journals (100,000 lines) is summarised in a few tenths of a second of CPU, its
mood lines read by their shape rather than parsed one by one (see "reading a journal, fast").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from itertools import compress, count, repeat
from operator import add, is_, itemgetter, lt, ne, not_, sub
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Sequence

from emocare.errors import JournalError
from emocare.records import CareRecord, ChangeRecord, EndRecord, MoodRecord, StartRecord, from_json
from emocare.report import MOOD_ORDER
from emocare.sources import shown

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
    care: tuple[dict, ...]  # the comfort actions (a CareRecord's JSON): t, mood, action, message, lang, note
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


def _started(start: StartRecord, fallback: datetime) -> datetime:
    try:
        return fallback if start.started is None else datetime.fromisoformat(str(start.started))
    except ValueError:
        return fallback


# ------------------------------------------------------------------ reading a journal, fast
# A month of journals is a hundred thousand lines, nearly all of them ``mood`` lines. Parsing each as JSON and
# summarising record by record took seconds; here a mood line of the shape MoodRecorder writes (json.dumps'
# separators, its keys in its order) is read by that shape, all lines of a journal in one regular-expression
# pass, and each person's rows are summed a spell at a time over whole columns. Every other line (start,
# change, care, end, a mood line of another shape or writer, a torn line) goes through json.loads, the records'
# checks and journal.read's rule for torn lines, so what is refused, skipped or read is what journal.read does.
_NUMBER = rb"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"  # as json.dumps writes a time; others (1e+16, -1.0) are parsed
_MOOD = rb'\{"type": "mood", "t": (%s), "id": (%s), "mood": "(%s)"'
_FIELDS = (_NUMBER, rb"0|[1-9][0-9]*", rb"[A-Za-z_]+")
# each line: (t, id, mood, b"") for a mood line of the usual shape, (b"", b"", b"", line) for any other
_LINE = re.compile(rb"^(?:" + _MOOD % _FIELDS + rb"[^\n]*\}|(.*))$", re.M)
# each line's "primary" value, asked only of a session with several people (one person is "the" person whatever
# the flag says): ``true``/``false`` as written, none (b""), or another value (the line is parsed)
_PRIMARY = re.compile(rb"^(?:" + _MOOD.replace(b"(%s)", b"(?:%s)") % _FIELDS + rb'[^\n]*"primary": ([^,}\n]*)[^\n]*\}|.*)$',
                      re.M)
_CARE_KEYS = ("t", "id", "mood", "action", "message", "lang", "note")


class _Labels(dict):
    """A mood as text, whether it came as bytes (a line read by its shape) or text (a line parsed as JSON)."""

    def __missing__(self, key):
        value = key.decode("ascii") if isinstance(key, bytes) else key
        self[key] = value
        return value


_LABELS = _Labels()


@dataclass
class _Run:
    """One session of a journal while it is read: where its lines are, and what its other lines said."""

    first: int  # its lines are found[first:last]
    start: StartRecord | None
    last: int = 0
    care: list = field(default_factory=list)
    changes: int = 0
    end: EndRecord | None = None
    t_min: float = float("inf")  # of its lines other than mood lines
    t_max: float = float("-inf")


@dataclass
class _Lines:
    """A journal's lines as columns (for mood lines: time, person, mood) and its sessions (``runs``)."""

    data: bytes
    is_mood: list
    times: list
    ids: list
    moods: list
    runs: list[_Run]
    parsed_primary: dict = field(default_factory=dict)  # line → the flag, for mood lines parsed as JSON
    _primary: list | None = None

    def primary(self) -> list:
        """Each line's flag: whether its person is the one care acts for (``bool(MoodRecord.primary)``)."""
        if self._primary is None:
            flags = list(map({b"true": True, b"false": False, b"": False}.get, _PRIMARY.findall(self.data)))
            for n in compress(count(), map(is_, flags, repeat(None))):  # another value: as JSON reads it
                flags[n] = bool(from_json(json.loads(self.data.split(b"\n")[n])).primary)
            for n, flag in self.parsed_primary.items():
                flags[n] = flag
            self._primary = flags
        return self._primary


def _scan(path: Path) -> _Lines:
    """The lines of the journal at ``path`` by session, with ``journal.read``'s rules and errors."""
    if not path.is_file():
        raise JournalError(f"{shown(path)}: no such journal")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{shown(path)}: cannot read journal ({exc.strerror or exc})") from exc
    found = _LINE.findall(data)
    if not found:
        return _Lines(data, [], [], [], [], [])
    times, ids, moods, others = (list(map(itemgetter(i), found)) for i in range(4))
    is_mood = list(map(bool, times))
    runs: list[_Run] = []
    parsed_primary = {}
    for n in list(compress(count(), map(not_, is_mood))):  # the lines that are not mood lines of the usual shape
        raw = others[n]
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            rest = next((b"" if t else o for t, o in zip(times[n + 1:], others[n + 1:]) if t or o.strip()), None)
            if rest is None or rest.startswith(b'{"type": "start"'):
                continue  # the line a killed process was writing
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            raise JournalError(f"{shown(path)}:{n + 1}: not a journal line ({why})") from None
        try:
            rec = from_json(rec)
        except ValueError as exc:  # records.check's reason
            raise JournalError(f"{shown(path)}:{n + 1}: not a journal line ({exc})") from None
        t = rec.t
        if isinstance(rec, StartRecord):  # a new session (journal.sessions): lines before the first start are one too
            if runs:
                runs[-1].last = n
            elif any(is_mood[:n]):
                runs.append(_Run(first=0, start=None, last=n))
            runs.append(_Run(first=n, start=rec))
        elif not runs:
            runs.append(_Run(first=0, start=None))
        if isinstance(rec, MoodRecord):  # a mood line of another shape: into the columns
            is_mood[n], times[n], ids[n], moods[n] = True, t, rec.id, rec.mood
            parsed_primary[n] = bool(rec.primary)
            continue
        run = runs[-1]
        run.t_min, run.t_max = min(run.t_min, t), max(run.t_max, t)
        if isinstance(rec, ChangeRecord):
            run.changes += 1
        elif isinstance(rec, CareRecord):
            care = rec.to_json()
            run.care.append({key: care[key] for key in _CARE_KEYS if key in care})
        elif isinstance(rec, EndRecord):
            run.end = rec
    if not runs and any(is_mood):  # mood lines only
        runs.append(_Run(first=0, start=None))
    if runs:
        runs[-1].last = len(found)
    return _Lines(data, is_mood, times, ids, moods, runs, parsed_primary)


def _person(times: list, moods: list, primary: int, t_max: float, period_s: float) -> tuple:
    """One person's rows in time order: (seconds in each mood, ``primary`` rows, times, moods), summed as
    ``report.summarize`` does (a row lasts until the next, at most two periods; the last one period)."""
    if times != sorted(times):
        order = sorted(range(len(times)), key=times.__getitem__)  # stable, as report's sort
        times, moods = [times[i] for i in order], [moods[i] for i in order]
    cap = 2 * period_s
    spans = list(map(min, map(sub, times[1:], times), repeat(cap)))
    t = times[-1]
    spans.append(max(0.0, min(min(t + period_s, max(t_max, t)) - t, cap)))
    seconds: dict[str, float] = {}
    bounds = [0, *compress(count(1), map(ne, moods[1:], moods)), len(moods)]
    for a, b in zip(bounds, bounds[1:]):
        seconds[moods[a]] = seconds.get(moods[a], 0.0) + sum(spans[a:b])
    return seconds, primary, times, moods


def _timeline(times: list, moods: list) -> tuple[tuple[float, float, str], ...]:
    """``(from, to, mood)`` spells: a row lasts until the next, at most ``GAP_S`` (the last one 1 s)."""
    breaks = sorted({*compress(count(1), map(ne, moods[1:], moods)),
                     *compress(count(1), map(lt, repeat(1e-6), map(sub, times[1:], map(add, times, repeat(GAP_S)))))})
    bounds = [0, *breaks, len(times)]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        t = times[b - 1]
        end = min(times[b] if b < len(times) else t + 1.0, t + GAP_S)
        out.append((float(times[a]), float(end), moods[a]))
    return tuple(out)


def _summary(ref: str, index: int, lines: _Lines, run: _Run, mtime: datetime, period_s: float = 1.0) -> SessionView:
    """``run`` as the history shows it: the figures ``report.summarize`` gives for the person care acted for
    (tests/test_serve.py checks them against it)."""
    a, b = run.first, run.last
    sel = lines.is_mood[a:b]
    times = list(map(float, compress(lines.times[a:b], sel)))
    t_min, t_max = run.t_min, run.t_max
    if times:
        t_min, t_max = min(t_min, min(times)), max(t_max, max(times))
    moods = list(map(_LABELS.__getitem__, compress(lines.moods[a:b], sel)))
    ids = list(compress(lines.ids[a:b], sel))
    if len(set(ids)) > 1:  # several people: each one's rows, in the order they first appear
        primary = list(compress(lines.primary()[a:b], sel))
        rows: dict = {}
        for i, key in enumerate(int(k) if isinstance(k, bytes) else k for k in ids):
            rows.setdefault(key, []).append(i)
        people = [_person([times[i] for i in r], [moods[i] for i in r], sum(primary[i] for i in r), t_max, period_s)
                  for r in rows.values()]
    else:  # one person: the one care acted for, whatever the lines' flag says
        people = [_person(times, moods, 1, t_max, period_s)] if times else []
    lead = None
    if people:
        lead = max(people, key=itemgetter(1))  # the one care acted for most: report.summarize's primary
        if lead[1] == 0:
            lead = max(people, key=lambda p: sum(p[0].values()))  # for nobody: the one seen longest
    start = run.start or StartRecord(t=0.0)  # lines before a session's start line: what the journal did not say
    return SessionView(ref=ref, index=index, started=_started(start, mtime - timedelta(seconds=t_max)),
                       source=str("?" if start.source is None else start.source),
                       engine=str("?" if start.engine is None else start.engine),
                       duration_s=t_max - t_min, seconds={m: lead[0][m] for m in MOOD_ORDER if lead[0].get(m)} if lead else {},
                       segments=_timeline(lead[2], lead[3]) if lead else (), care=tuple(run.care),
                       changes=run.changes, ended=run.end.reason if run.end else None)


def read_journal(ref: str, path: Path) -> JournalView:
    """Every session of one journal (an unreadable journal is a view with ``error``, never an exception)."""
    try:
        stat = path.stat()
        lines = _scan(path)
    except (OSError, JournalError) as exc:
        return JournalView(ref, path, (), error=str(exc))
    mtime = datetime.fromtimestamp(stat.st_mtime)
    return JournalView(ref, path, tuple(_summary(ref, i, lines, run, mtime) for i, run in enumerate(lines.runs)))


class History:
    """The journals of ``places``, each parsed again only when its size or modification time changes; the
    summaries are kept in memory and, when ``cache_dir`` is given, on disk (a summary that cannot be read or
    written there is simply parsed again). New summaries go to disk on ``save``, which the pages call once
    they are sent, so a first visit does not wait for the writing."""

    VERSION = 1

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
            if fresh and view.error is None and self.cache_dir is not None and key != (0, 0):
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
