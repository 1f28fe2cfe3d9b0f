"""The session journal: JSON Lines, written and flushed line by line.

Each line is a record of ``records.py`` (``start``, ``mood``, ``change``,
``care``, ``snapshot``, ``error``, ``end``): ``Journal.write`` takes one and
``read`` gives them back. A killed process loses at most the line being
written. No images are stored here.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from dataclasses import replace
from typing import IO, Any

from emocare.errors import ConfigError, JournalError
from emocare.faces import Faces
from emocare.names import make_folder
from emocare.records import ChangeRecord, EndRecord, MoodRecord, Record, StartRecord, from_json
from emocare.sources import shown


class JournalBusy(ConfigError):
    """Another session holds the journal (exit 2: give each session its own)."""


class NotAJournal(ConfigError):
    """``--journal`` names a file that holds something else (exit 2): it is left as it was."""


def journals_dir() -> Path:
    """Where ``watch`` keeps its journals when ``--journal`` is not given."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("emocare")) / "journals"


FILE_MODE = 0o600  # a journal is a record of someone's moods: its owner's alone
FOLDER_MODE = 0o700


def latest_journal(folder: Path | None = None) -> Path:
    """The journal written last in ``folder`` (default: ``journals_dir()``): what ``report`` reads by default."""
    folder = journals_dir() if folder is None else folder
    found = []
    for path in folder.glob("*.jsonl") if folder.is_dir() else ():
        try:
            found.append((path.stat().st_mtime, path.name, path))
        except OSError:  # removed meanwhile
            continue
    if not found:
        raise JournalError(f"{folder}: no journal yet (run 'emocare watch', or name one: 'emocare report JOURNAL')")
    return max(found)[2]


def default_journal_path(now: datetime | None = None, folder: Path | None = None) -> Path:
    """``watch-YYYYmmdd-HHMMSS.jsonl`` in ``journals_dir()``; a session started in the same second as the last
    one (a script watching short clips) gets ``-2``, ``-3``… rather than sharing its journal."""
    folder = journals_dir() if folder is None else folder
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path, n = folder / f"watch-{stamp}.jsonl", 1
    while path.exists():
        n += 1
        path = folder / f"watch-{stamp}-{n}.jsonl"
    return path


class Journal:
    """Append-only JSON Lines. A write that fails (disk full, device gone) never raises into the
    caller's thread: the file is cut back to its last complete line, a short ``end`` line is
    attempted, and ``error`` says what happened (the watch loop stops on it).

    The file is created readable by its owner only (0600; a folder it creates, 0700) and held under
    an exclusive lock while open: a second session given the same journal is refused (``JournalBusy``),
    and one with ``fresh`` (the default, timestamped name) takes the next free name instead. A named
    pipe is refused rather than waited on."""

    def __init__(self, path: Path, *, fresh: bool = False):
        self.path = Path(path)
        self.fresh = fresh
        self._fh: IO[bytes] | None = None
        self._lock = threading.Lock()  # the analysis thread and the care-audio thread both write
        self._good = 0  # byte offset after the last complete line
        self._torn_at: int | None = None  # where a torn last line ends, until this run's first line is written
        self._starts: deque[int] = deque(maxlen=16)  # where the last lines begin (room for the end line on a full disk)
        self.lines = 0
        self.error: str | None = None
        self.record_sinks: list = []  # a sink's on_record, called with each Record once it is on disk (the status line)

    def __enter__(self) -> "Journal":
        try:
            _make_folder(self.path.parent, private=self.fresh)
            self._fh = self._open()
            self._good = self._fh.seek(0, os.SEEK_END)
            if self._good > 0 and self.path.is_file():
                if not _starts_as_journal(self.path):
                    self._fh.close()
                    self._fh = None
                    raise NotAJournal(f"{shown(self.path)}: not a journal, left as it was; name a new file")
                with open(self.path, "rb") as fh:
                    fh.seek(self._good - 1)
                    if fh.read(1) != b"\n":  # a killed run left a torn line: never glue a new start onto it
                        self._torn_at = self._good  # the newline goes in with this run's first line, not before it
        except OSError as exc:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            raise JournalError(f"{shown(self.path)}: cannot write journal ({exc.strerror or exc})") from None
        return self

    def _open(self) -> IO[bytes]:
        """The journal opened for appending, locked, and known to be a file or a device (never a pipe)."""
        import stat

        n = 1
        while True:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
            if self.fresh:
                flags |= os.O_EXCL
            try:
                fd = os.open(self.path, flags, FILE_MODE)
            except FileExistsError:  # another session took this name in the same second: the next one
                n += 1
                self.path = _numbered(self.path, n)
                continue
            except OSError as exc:
                import errno

                if exc.errno == errno.ENXIO:  # a named pipe nobody reads: open would have waited for one
                    raise JournalError(f"{shown(self.path)}: a named pipe (FIFO), not a file: a journal must be a file") from None
                raise
            mode = os.fstat(fd).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                os.close(fd)
                raise JournalError(f"{shown(self.path)}: a named pipe (FIFO), not a file: a journal must be a file")
            os.set_blocking(fd, True)
            if stat.S_ISREG(mode) and not _lock(fd):
                os.close(fd)
                if self.fresh:
                    n += 1
                    self.path = _numbered(self.path, n)
                    continue
                raise JournalBusy(f"{shown(self.path)}: another emocare session is writing this journal; "
                                  "give each session its own --journal (or none: each gets a new one)")
            return os.fdopen(fd, "ab", buffering=0)

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fh is not None:
            try:
                os.fsync(self._fh.fileno())
            except OSError:
                pass
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None

    def write(self, record: Record) -> Record:
        """Append ``record`` (its time rounded to the millisecond) and hand it to the record sinks; returns what was written."""
        record = replace(record, t=round(float(record.t), 3))
        # valid UTF-8 whatever a file name holds: bytes that are not UTF-8 are written \xe9 (``sources.shown``)
        line = json.dumps(record.to_json(), ensure_ascii=False, default=_default) + "\n"
        data = line.encode("utf-8", "surrogateescape")
        data = data.decode("utf-8", "backslashreplace").encode("utf-8")
        with self._lock:
            if self._fh is not None:
                if self._torn_at is not None:
                    data = b"\n" + data
                try:
                    _write_all(self._fh, data)
                    self._torn_at = None
                    self._starts.append(self._good)
                    self._good += len(data)
                    self.lines += 1
                except OSError as exc:
                    self._failed(exc, record.t)
                    return record
            else:
                return record
        for sink in self.record_sinks:
            sink(record)
        return record

    def _failed(self, exc: OSError, t: float) -> None:
        """Cut back to the last whole line and end the journal with an ``end`` line; on a full disk, the last
        few lines give up their room for it (``dropped`` says how many)."""
        self.error = f"{shown(self.path)}: cannot write journal ({exc.strerror or exc}); it is complete up to then"
        fh, self._fh = self._fh, None
        # nothing of this run got in after a torn line: the file is left as it was (an end line would follow the
        # torn line, which then reads as damage, not as the line a killed run was writing)
        ends = [self._good, *reversed(self._starts)]
        if self._torn_at is not None:
            ends = []
            try:
                fh.truncate(self._torn_at)
            except OSError:
                pass
        for dropped, size in enumerate(ends):
            record = EndRecord(t=t, reason="journal write failed", dropped=dropped or None)
            try:
                fh.truncate(size)
                fh.seek(size)
                _write_all(fh, (json.dumps(record.to_json()) + "\n").encode())
                break
            except OSError:
                continue
        try:
            fh.close()
        except OSError:
            pass


def _starts_as_journal(path: Path) -> bool:
    """Whether a file begins as emocare begins a journal: with a ``start`` line, whole or torn (a run killed while
    writing it; ``read`` skips it once a new start follows), or with the ``end`` line of a run whose first write
    met a full disk. Every version of emocare writes ``type`` first, in json's own spacing."""
    with open(path, "rb") as fh:
        return fh.read(len(_JOURNAL_STARTS[0])) in _JOURNAL_STARTS


_JOURNAL_STARTS = (b'{"type": "start"', b'{"type": "end", ')  # the same length


def _numbered(path: Path, n: int) -> Path:
    """``watch-20250101-120000.jsonl`` → ``watch-20250101-120000-2.jsonl`` (``n`` = 2)."""
    stem = path.stem.rsplit("-", 1)[0] if path.stem.count("-") >= 3 else path.stem
    return path.with_name(f"{stem}-{n}{path.suffix}")


def _make_folder(folder: Path, *, private: bool) -> None:
    """Create ``folder`` (and its parents) 0700; ``private``: the default journals folder, made 0700 even if an
    older emocare made it world-readable (a folder the user named is left as it is)."""
    make_folder(folder, mode=FOLDER_MODE)
    if private:
        try:
            if folder.stat().st_mode & 0o077:
                folder.chmod(FOLDER_MODE)
        except OSError:
            pass


def _lock(fd: int) -> bool:
    """An exclusive lock on the open journal, held until it is closed; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks (some network mounts): written unlocked, as before
        return True
    return True


def _write_all(fh, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = fh.write(view)
        if not n:
            raise OSError(28, "No space left on device")
        view = view[n:]


def _default(obj: Any):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class MoodRecorder:
    """Decides what of each analysed ``Faces`` goes into the journal.

    ``mood`` once a second (``period_s``) per tracked person, and at once when
    it changes (so the mood lines alone give the timeline); ``change`` whenever
    a person's adopted mood changes. Keeps counts for the end summary.
    """

    def __init__(self, journal: Journal, period_s: float = 1.0):
        self.journal = journal
        self.period_s = period_s
        self._last_mood_t: dict[int, float] = {}
        self._last_label: dict[int, str] = {}
        self._seen: dict[int, int] = {}
        self.frames = 0
        self.frames_with_face = 0
        self.changes = 0
        self.first_t: float | None = None
        self.last_t = 0.0

    def record(self, faces: Faces) -> None:
        self.frames += 1
        if self.first_t is None:
            self.first_t = faces.t
        self.last_t = faces.t
        if any(f.track_id is not None for f in faces):  # confirmed people, not one-frame detections
            self.frames_with_face += 1
        for face in faces:
            if face.track_id is None or face.mood is None:
                continue
            tid, mood = face.track_id, face.mood
            self._seen[tid] = self._seen.get(tid, 0) + 1
            previous = self._last_label.get(tid)
            changed = previous is not None and previous != mood.label
            if changed:
                self.changes += 1
                self.journal.write(ChangeRecord(t=faces.t, id=tid, from_=previous, to=mood.label,
                                                confidence=round(mood.confidence, 4), valence=mood.valence))
            self._last_label[tid] = mood.label
            last = self._last_mood_t.get(tid)
            if changed or last is None or faces.t - last >= self.period_s - 1e-9:
                self._last_mood_t[tid] = faces.t
                self.journal.write(MoodRecord(t=faces.t, id=tid, mood=mood.label, confidence=round(mood.confidence, 4),
                                              valence=mood.valence, negative_for_s=round(mood.negative_for_s, 3),
                                              faces_seen=self._seen[tid], primary=(tid == faces.primary),
                                              box=list(face.box), raw=face.dominant))

    def summary(self) -> dict:
        return {
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "people": sorted(self._seen),
            "changes": self.changes,
            "duration_s": round(self.last_t - (self.first_t or 0.0), 3),
        }


def read(path: Path, skipped: list[str] | None = None) -> list[Record]:
    """The records of a journal.

    A torn line (a killed process was writing it, maybe inside a multi-byte
    character) is skipped when it is the last one or a new session starts right
    after it; any other bad line is a ``JournalError`` naming the file and line,
    or, given a ``skipped`` list, that error's words are added to it and the
    line is left out (``report`` summarises what can be read, and says so).
    """
    p = Path(path)
    if p.is_dir():
        raise JournalError(f"{shown(p)}: a folder, not a journal (a .jsonl file that watch wrote)")
    if not p.is_file():
        from emocare.names import not_a_file

        why = not_a_file(p, "a journal") or "not a regular file"
        raise JournalError(f"{shown(p)}: {'no such journal' if why == 'no such file' else why}")
    records = []
    try:
        lines = p.read_bytes().split(b"\n")
    except OSError as exc:
        raise JournalError(f"{shown(p)}: cannot read journal ({exc.strerror or exc})") from exc
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            rest = [x for x in lines[n:] if x.strip()]
            # the line a killed process was writing: the file's last, with no newline after it (a file of that line
            # alone is no journal), or one a new session's start follows (a reused journal starts a fresh line)
            if (records and n == len(lines)) or (rest and rest[0].startswith(b'{"type": "start"')):
                continue
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            _bad(f"{shown(p)}:{n}: not a journal line ({why})", skipped)
            continue
        try:
            records.append(from_json(rec))
        except ValueError as exc:  # records.check's reason
            _bad(f"{shown(p)}:{n}: not a journal line ({exc})", skipped)
    return records


def _bad(message: str, skipped: list[str] | None) -> None:
    """A bad line: noted in ``skipped`` where the reader keeps going, else the reading's end."""
    if skipped is None:
        raise JournalError(message) from None
    skipped.append(message)


def sessions(records: list[Record]) -> list[list[Record]]:
    """The records split at each ``start`` line (a journal path reused by several runs is appended to)."""
    out: list[list[Record]] = []
    for r in records:
        if isinstance(r, StartRecord) or not out:
            out.append([])
        out[-1].append(r)
    return out
