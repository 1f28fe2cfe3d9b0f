"""The journal's lines, typed: one frozen dataclass per line type, with ``to_json`` and ``from_json``.

Every line has a ``type`` and a ``t`` (seconds: media time for files, time
since start for cameras). Types: ``start`` (config, engine, source), ``mood``
(once a second per tracked person), ``change`` (a person's mood changed),
``care`` (a comfort action), ``snapshot`` (a saved frame), ``error``, ``end``
(summary). Writers (``watch``, ``journal.MoodRecorder``, ``care``, ``live``,
``sinks``) build these and ``journal.Journal.write`` writes them; readers
(``journal.read``, ``report``, ``status``, the web history and hub, the API's
callbacks, ``lab.bench_sessions``) get them back.

The JSON is what emocare has always written, byte for byte: the keys in the
order of the fields below (``change``'s ``from_`` is ``"from"``), a field that
is ``None`` left out, and keys this emocare does not know (an older or newer
journal's, a hand-made one's) kept in ``extra`` and written back after the
others. A line of a type not listed here reads as an ``OtherRecord``. Apart
from ``t``, and a mood line's ``id`` and ``mood`` (a change line's ``id``),
every field may be missing from a journal, so each defaults to ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, Iterable, Mapping

EXTRA = "extra"


@dataclass(frozen=True, kw_only=True)
class Record:
    """What every line has: its ``type`` (the class's) and ``t``; ``extra`` holds the keys not named here."""

    type: ClassVar[str] = ""
    t: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The line as a JSON object: ``type``, ``t``, the fields that are not ``None`` in order, then ``extra``."""
        out: dict[str, Any] = {"type": self.type, "t": self.t}
        for name, key in _keys(type(self)):
            value = getattr(self, name)
            if value is not None:
                out[key] = value
        out.update(self.extra)
        return out


def _meta(key: str) -> Any:
    """A field written under another key than its name (``from`` is a Python keyword)."""
    return field(default=None, metadata={"key": key})


@dataclass(frozen=True, kw_only=True)
class StartRecord(Record):
    """A session begins: what is watched, by which engine and detector, how, with which settings."""

    type: ClassVar[str] = "start"
    source: str | None = None
    engine: str | None = None
    detector: str | None = None
    mode: str | None = None  # "live" or "fast"
    config: dict[str, Any] | None = None  # every setting (settings.as_dict)
    started: str | None = None  # local time, ISO 8601 to the second


@dataclass(frozen=True, kw_only=True)
class MoodRecord(Record):
    """A person's steady mood: once a second per person, and at once when it changes."""

    type: ClassVar[str] = "mood"
    id: int | str
    mood: str
    confidence: float | None = None
    valence: str | None = None
    negative_for_s: float | None = None
    faces_seen: int | None = None
    primary: bool | None = None  # the person care acts for
    box: list[int] | None = None  # x, y, w, h
    raw: str | None = None  # the frame's own top emotion


@dataclass(frozen=True, kw_only=True)
class ChangeRecord(Record):
    """A person's steady mood changed, ``from_`` one label ``to`` another."""

    type: ClassVar[str] = "change"
    id: int | str
    from_: str | None = _meta("from")
    to: str | None = None
    confidence: float | None = None
    valence: str | None = None


@dataclass(frozen=True, kw_only=True)
class CareRecord(Record):
    """A comfort given: for whom, at which level (``action``), what was said and played."""

    type: ClassVar[str] = "care"
    id: int | str | None = None
    mood: str | None = None
    action: str | None = None  # the care level: "message", "speech", "music"
    message: str | None = None
    lang: str | None = None
    negative_for_s: float | None = None
    audio: list[str] | None = None  # the sound files played
    speech: str | None = None  # how the speech was made (gtts, cache, espeak-ng...)
    note: str | None = None  # e.g. "quiet"


@dataclass(frozen=True, kw_only=True)
class SnapshotRecord(Record):
    type: ClassVar[str] = "snapshot"
    path: str | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorRecord(Record):
    """Something went wrong without ending the session (a video cut short, a recording not written, a lost source)."""

    type: ClassVar[str] = "error"
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class EndRecord(Record):
    """The session ended: why, and ``journal.MoodRecorder.summary()``; ``dropped``: lines given up on a full disk."""

    type: ClassVar[str] = "end"
    reason: str | None = None
    summary: dict[str, Any] | None = None
    dropped: int | None = None


@dataclass(frozen=True, kw_only=True)
class OtherRecord(Record):
    """A line of a type emocare does not write (a newer emocare's, a hand-made one's): its type and keys as read."""

    kind: str = ""

    @property  # type: ignore[override]
    def type(self) -> str:  # type: ignore[override]
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "t": self.t, **self.extra}


TYPES: dict[str, type[Record]] = {cls.type: cls for cls in (StartRecord, MoodRecord, ChangeRecord, CareRecord,
                                                              SnapshotRecord, ErrorRecord, EndRecord)}
REQUIRED = {"mood": ("id", "mood"), "change": ("id",)}  # what every mood or change line must hold


@cache
def _keys(cls: type[Record]) -> tuple[tuple[str, str], ...]:
    """``(field name, JSON key)`` of ``cls``'s own fields, in order."""
    return tuple((f.name, f.metadata.get("key", f.name)) for f in fields(cls) if f.name not in ("t", EXTRA, "kind"))


@cache
def _names(cls: type[Record]) -> dict[str, str]:
    return {key: name for name, key in _keys(cls)}


def check(data: Any) -> str | None:
    """Why ``data`` (a parsed JSON line) is not a journal record, or None."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return "needs a 'type'"
    t = data.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t != t or t in (math.inf, -math.inf):
        return "'t' must be a number of seconds"
    missing = [k for k in REQUIRED.get(data["type"], ()) if k not in data]
    if missing:
        return f"a {data['type']} line needs {', '.join(repr(m) for m in missing)}"
    if data["type"] == "mood" and not (isinstance(data["mood"], str) and isinstance(data["id"], (int, str))):
        return "a mood line needs a string 'mood' and an 'id'"
    return None


def from_json(data: Mapping[str, Any]) -> Record:
    """The record of a parsed journal line; ``ValueError`` saying why when it is not one (``check``)."""
    why = check(dict(data) if isinstance(data, Mapping) else data)
    if why:
        raise ValueError(why)
    cls = TYPES.get(data["type"])
    if cls is None:
        return OtherRecord(t=data["t"], kind=data["type"],
                           extra={k: v for k, v in data.items() if k not in ("type", "t")})
    names = _names(cls)
    known = {names[k]: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names and k not in ("type", "t")}
    return cls(t=data["t"], extra=extra, **known)


def as_record(item: Record | Mapping[str, Any]) -> Record:
    """A record as it is, or one parsed from its JSON object (a hand-made line, a line read by ``json.loads``)."""
    return item if isinstance(item, Record) else from_json(item)


def as_records(items: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
    return [as_record(r) for r in items]
