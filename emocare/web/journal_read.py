"""Reading a journal, fast: its sessions as the history shows them (``read_journal``), with ``journal.read``'s
rules and errors, the figures ``report.summarize`` gives.

Reading is fast without the history's cache too: a month of journals (100,000 lines) is summarised in a few
tenths of a second of CPU, its mood lines read by their shape rather than parsed one by one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress, count, repeat
from operator import add, is_, itemgetter, lt, ne, not_, sub
from pathlib import Path

from emocare.errors import JournalError
from emocare.records import CareRecord, ChangeRecord, EndRecord, MoodRecord, StartRecord, from_json
from emocare.report import MOOD_ORDER
from emocare.sources import shown
from emocare.web.sessions import JournalView, SessionView

GAP_S = 2.0  # a person unseen this long ends a timeline segment


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


def _scan(path: Path, left_out: list | None = None) -> _Lines:
    """The lines of the journal at ``path`` by session, with ``journal.read``'s rules and errors (a line that is
    not a journal line: into ``left_out`` as (line, why) where one is given, as ``report`` leaves it out)."""
    data = _read_bytes(path)
    found = _LINE.findall(data)
    if not found:
        return _Lines(data, [], [], [], [], [])
    times, ids, moods, others = (list(map(itemgetter(i), found)) for i in range(4))
    lines = _Lines(data, list(map(bool, times)), times, ids, moods, [])
    for n in list(compress(count(), map(not_, lines.is_mood))):  # the lines that are not mood lines of the usual shape
        try:
            rec = _record(path, n, times, others)
        except Unreadable as exc:
            if left_out is None or exc.line is None:
                raise
            left_out.append((exc.line, str(exc)))
            continue
        if rec is not None:
            _take(lines, n, rec)
    if not lines.runs and any(lines.is_mood):  # mood lines only
        lines.runs.append(_Run(first=0, start=None))
    if lines.runs:
        lines.runs[-1].last = len(found)
    return lines


class Unreadable(JournalError):
    """``journal.read``'s error, with what a page says of it in either language: ``why`` is "missing", "read" or
    "line" (``line``: which)."""

    def __init__(self, message: str, why: str, line: int | None = None):
        super().__init__(message)
        self.why, self.line = why, line


def _read_bytes(path: Path) -> bytes:
    """The journal at ``path``, or ``JournalError`` as ``journal.read`` says it."""
    if not path.is_file():
        raise Unreadable(f"{shown(path)}: no such journal", "missing")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"{shown(path)}: cannot read journal ({exc.strerror or exc})", "read") from exc


def _record(path: Path, n: int, times: list, others: list):
    """Line ``n`` (not a mood line of the usual shape) as a record, checked; None for a blank line and for the
    line a killed process was writing (a torn line with nothing but a session's start after it)."""
    raw = others[n]
    if not raw.strip():
        return None
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        rest = next((b"" if t else o for t, o in zip(times[n + 1:], others[n + 1:]) if t or o.strip()), None)
        if n == len(others) - 1 or (rest is not None and rest.startswith(b'{"type": "start"')):
            return None  # the line a killed process was writing: the last, with no newline after it, or before a start
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise Unreadable(f"{shown(path)}:{n + 1}: not a journal line ({why})", "line", n + 1) from None
    try:
        return from_json(rec)
    except ValueError as exc:  # records.check's reason
        raise Unreadable(f"{shown(path)}:{n + 1}: not a journal line ({exc})", "line", n + 1) from None


def _take(lines: _Lines, n: int, rec) -> None:
    """Record ``rec``, line ``n``, into ``lines``: a new session for a start, into the columns for a mood line
    of another shape, into its session's figures for the rest."""
    runs = lines.runs
    if isinstance(rec, StartRecord):  # a new session (journal.sessions): lines before the first start are one too
        if runs:
            runs[-1].last = n
        elif any(lines.is_mood[:n]):
            runs.append(_Run(first=0, start=None, last=n))
        runs.append(_Run(first=n, start=rec))
    elif not runs:
        runs.append(_Run(first=0, start=None))
    if isinstance(rec, MoodRecord):  # a mood line of another shape: into the columns
        lines.is_mood[n], lines.times[n], lines.ids[n], lines.moods[n] = True, rec.t, rec.id, rec.mood
        lines.parsed_primary[n] = bool(rec.primary)
        return
    _count(runs[-1], rec)


def _count(run: _Run, rec) -> None:
    """A start, change, care or end line into its session's figures."""
    t = rec.t
    run.t_min, run.t_max = min(run.t_min, t), max(run.t_max, t)
    if isinstance(rec, ChangeRecord):
        run.changes += 1
    elif isinstance(rec, CareRecord):
        care = rec.to_json()
        run.care.append({key: care[key] for key in _CARE_KEYS if key in care})
    elif isinstance(rec, EndRecord):
        run.end = rec


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


def _timeline(times: list, moods: list, end_t: float) -> tuple[tuple[float, float, str], ...]:
    """``(from, to, mood)`` spells: a row lasts until the next, at most ``GAP_S``; the last one 1 s but not past
    the journal's last time ``end_t`` (as ``report``'s table and plot count it)."""
    breaks = sorted({*compress(count(1), map(ne, moods[1:], moods)),
                     *compress(count(1), map(lt, repeat(1e-6), map(sub, times[1:], map(add, times, repeat(GAP_S)))))})
    bounds = [0, *breaks, len(times)]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        t = times[b - 1]
        end = min(times[b] if b < len(times) else min(t + 1.0, max(end_t, t)), t + GAP_S)
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
                       segments=_timeline(lead[2], lead[3], t_max) if lead else (), care=tuple(run.care),
                       changes=run.changes, ended=run.end.reason if run.end else None)


def read_journal(ref: str, path: Path) -> JournalView:
    """Every session of one journal (an unreadable journal is a view with ``error``, never an exception; lines that
    are not journal lines are left out, and named in ``left_out``, as ``report`` does)."""
    left_out: list[tuple[int, str]] = []
    try:
        stat = path.stat()
        lines = _scan(path, left_out)
    except (OSError, JournalError) as exc:  # gone between the listing and now: "missing", as _read_bytes says it
        if isinstance(exc, OSError):
            missing = isinstance(exc, FileNotFoundError)
            exc = Unreadable(f"{shown(path)}: no such journal" if missing else
                             f"{shown(path)}: cannot read journal ({exc.strerror or exc})", "missing" if missing else "read")
        return JournalView(ref, path, (), error=str(exc), why=getattr(exc, "why", "read"), line=getattr(exc, "line", None))
    mtime = datetime.fromtimestamp(stat.st_mtime)
    return JournalView(ref, path, tuple(_summary(ref, i, lines, run, mtime) for i, run in enumerate(lines.runs)),
                       left_out=tuple(left_out))
