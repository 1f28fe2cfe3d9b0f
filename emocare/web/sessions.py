"""What the history shows of a journal: its sessions (``SessionView``), a day's (``Day``), a journal's
(``JournalView``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path


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
    error: str | None = None  # why it cannot be read, as `emocare report` says it (English)
    why: str | None = None  # the same, as a page shows it in either language: "missing" or "read"
    line: int | None = None  # with why "line" (a reader that stops at a bad line): the line that is not a journal line
    # lines that are not journal lines, left out of a journal read otherwise (line, why as `report` says it)
    left_out: tuple[tuple[int, str], ...] = ()

    @property
    def left_out_key(self) -> str:
        """The page's words for the left-out lines: one line, or several; or none of its lines read (as ``report``
        says it: a page of notes is not shown as a journal with "the rest shown")."""
        if not self.sessions:
            return "unreadable_nothing"
        return "unreadable_left_out_one" if len(self.left_out) == 1 else "unreadable_left_out"

    @property
    def left_out_lines(self) -> str:
        """The left-out lines' numbers as a page lists them: the first five, then "…"."""
        shown = ", ".join(str(n) for n, _ in self.left_out[:5])
        return shown + (", …" if len(self.left_out) > 5 else "")
