"""``bench --sessions``: does each engine comfort when it should, and only then, on labelled care sessions?

A care session is a video with ``NAME.truth.csv`` beside it (``frame,t,label``: the true emotion of every
frame), like ``tests/data/sessions`` or the random ones ``tools/make_sessions.py`` renders from a labelled
face set. Each engine watches every session as ``watch --fast`` does (the same pipeline, rolling window and
carer as a live run; no audio, no window) and its journal is scored against the truth:

- a *negative stretch* is a run of frames whose true label is one of ``settings.negative``;
- comfort is *due* for a stretch that lasts at least ``window_s + hold_s + persist_s`` (by design the
  negative valence is adopted within window + hold of the onset, then must persist ``persist_s``);
- a comfort is *right* when it comes during a stretch of at least ``persist_s`` or within ``window_s`` after
  its end (the window still holds it); any other comfort (a calm stretch, a brief dip) is *wrong*;
- mood changes: every change of the steady mood, counted as ``emocare report`` counts them;
- agreement with the truth, at each of the journal's once-a-second ``mood`` lines of the primary face: the
  steady mood (``uncertain`` counts as wrong) and the frame's own top emotion (``raw``).

Pure scoring (``score``) is separate from running (``run_sessions``), so it is unit-tested on records.
"""

from __future__ import annotations

import bisect
import csv
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from emocare.errors import InputError
from emocare.records import MoodRecord, Record, as_records


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix("").with_suffix(".truth.csv")


def read_truth(path: Path) -> list[tuple[float, str]]:
    """``(t, label)`` for every frame of a session's ``truth.csv``; a bad file is an ``InputError`` naming it."""
    from emocare.faces import EMOTIONS

    if not Path(path).is_file():
        raise InputError(f"{path}: missing (a care session needs its truth beside the video)", str(path))
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(float(r["t"]), r["label"].strip()) for r in csv.DictReader(f)]
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a session truth file (frame,t,label): {exc}", str(path)) from None
    bad = sorted({label for _, label in rows if label not in EMOTIONS})
    if not rows or bad:
        raise InputError(f"{path}: " + (f"unknown label(s) {', '.join(bad)}" if bad else "no frames"), str(path))
    return rows


def negative_stretches(truth: Sequence[tuple[float, str]], negative: Sequence[str], frame_s: float) -> list[tuple[float, float]]:
    """``(start, end)`` of every run of frames whose label is negative; ``end`` is the last frame's time plus one frame."""
    out: list[tuple[float, float]] = []
    start = None
    for i, (t, label) in enumerate(truth):
        if label in negative and start is None:
            start = t
        if start is not None and (label not in negative or i == len(truth) - 1):
            end = t if label not in negative else t + frame_s
            out.append((start, end))
            start = None
    return out


@dataclass(frozen=True)
class SessionScore:
    session: str
    engine: str
    duration_s: float
    changes: int
    care_t: tuple[float, ...]
    due: int  # negative stretches long enough to be comforted
    comforted: int  # of those, how many got a comfort during them (or within window_s after)
    wrong: int  # comforts outside every negative stretch of at least persist_s
    delay_s: tuple[float, ...]  # from a due stretch's onset to its first comfort
    samples: int = 0  # journal mood lines of the primary face
    mood_right: int = 0  # of those, the steady mood equals the truth
    raw_right: int = 0  # of those, the frame's top emotion equals the truth

    def to_json(self) -> dict:
        return asdict(self)


def score(records: Iterable[Record | Mapping], truth: Sequence[tuple[float, str]], settings, session: str = "",
          engine: str = "") -> SessionScore:
    """One watch run's journal records (or their JSON objects) against its truth (see the module's rules)."""
    from emocare.report import summarize

    records = as_records(records)
    frame_s = (truth[-1][0] - truth[0][0]) / max(1, len(truth) - 1) if len(truth) > 1 else 0.0
    stretches = negative_stretches(truth, settings.negative, frame_s)
    due_s = settings.window_s + settings.hold_s + settings.persist_s
    allowed = [(a, b + settings.window_s) for a, b in stretches if b - a >= settings.persist_s]
    due = [(a, b + settings.window_s) for a, b in stretches if b - a >= due_s]
    report = summarize(records)
    care_t = tuple(float(c.t) for c in report.care)
    wrong = sum(1 for t in care_t if not any(a <= t <= b for a, b in allowed))
    firsts = [next((t for t in care_t if a <= t <= b), None) for a, b in due]
    times = [ft for ft, _ in truth]
    moods = [(r, _label_at(truth, times, float(r.t))) for r in records  # a line without the flag counts
             if isinstance(r, MoodRecord) and (r.primary is None or r.primary)]
    return SessionScore(session, engine, round(max(report.duration_s, truth[-1][0] + frame_s), 3), report.changes,
                        care_t, len(due), sum(f is not None for f in firsts), wrong,
                        tuple(round(f - a, 3) for (a, _), f in zip(due, firsts) if f is not None),
                        len(moods), sum(r.mood == label for r, label in moods),
                        sum(r.raw == label for r, label in moods))


def _label_at(truth: Sequence[tuple[float, str]], times: Sequence[float], t: float) -> str:
    """The true label of the last frame at or before ``t`` (``times``: the frames' times, sorted)."""
    i = bisect.bisect_right(times, t + 1e-6) - 1
    return truth[max(0, i)][1]


def summary(scores: Sequence[SessionScore]) -> dict:
    """One engine's totals: comfort when due, wrong comforts, mood changes a minute, delay to comfort."""
    minutes = sum(s.duration_s for s in scores) / 60.0
    delays = [d for s in scores for d in s.delay_s]
    return {"sessions": len(scores), "due": sum(s.due for s in scores), "comforted": sum(s.comforted for s in scores),
            "wrong": sum(s.wrong for s in scores), "sessions_with_wrong": sum(1 for s in scores if s.wrong),
            "changes_per_min": sum(s.changes for s in scores) / minutes if minutes > 0 else 0.0,
            "mood_right": _share(sum(s.mood_right for s in scores), sum(s.samples for s in scores)),
            "raw_right": _share(sum(s.raw_right for s in scores), sum(s.samples for s in scores)),
            "mean_delay_s": sum(delays) / len(delays) if delays else None}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class SessionsReport:
    sessions: list[str]
    scores: dict[str, list[SessionScore]]  # engine -> one score per session, in ``sessions`` order

    def to_json(self) -> dict:
        return {"sessions": self.sessions, "summary": {e: summary(s) for e, s in self.scores.items()},
                "per_session": {e: [x.to_json() for x in s] for e, s in self.scores.items()}}


def media_files(paths: Sequence[Path], exts: Sequence[str]) -> list[Path]:
    """The files named, and every file with one of ``exts`` in the folders named (recursively), sorted per folder."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in exts)
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder", str(p))
    return out


def session_videos(paths: Sequence[Path]) -> list[Path]:
    """The session videos named (folders: every video in them), each checked to have its truth."""
    from emocare.sources import VIDEO_EXTENSIONS

    videos = media_files(paths, VIDEO_EXTENSIONS)
    if not videos:
        raise InputError(f"{', '.join(map(str, paths))}: no session videos", str(paths[0]) if paths else None)
    for v in videos:
        if not truth_path(v).is_file():
            raise InputError(f"{v}: no {truth_path(v).name} beside it (a care session needs its truth)", str(v))
    return videos


def run_sessions(videos: Sequence[Path], engines: Sequence[str], settings,
                 on_step: Callable[[str, int, int], None] = lambda what, done, total: None) -> SessionsReport:
    """Every engine watches every session (``watch --fast``, audio off, no window); journals in a temporary folder."""
    from emocare import watch

    truths = {v: read_truth(truth_path(v)) for v in videos}
    scores: dict[str, list[SessionScore]] = {e: [] for e in engines}
    total = len(videos) * len(engines)
    with tempfile.TemporaryDirectory(prefix="emocare-sessions-") as tmp:
        for e, engine in enumerate(engines):
            run_settings = replace(settings, engine=engine, audio="none", quiet=True)
            for i, video in enumerate(videos):
                on_step(f"{engine}: {video.name}", e * len(videos) + i, total)
                request = watch.WatchRequest(source=str(video), fast=True, show_window=False,
                                             journal=Path(tmp) / f"{engine}-{i}.jsonl")
                run = watch.run(run_settings, request)
                scores[engine].append(score(run.records, truths[video], run_settings, video.name, engine))
    return SessionsReport([str(v) for v in videos], scores)
