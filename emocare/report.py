"""Summaries of a session journal: time in each mood, changes per minute, care events; a timeline plot.

They read ``records.py``'s records (``journal.read``); a record's JSON object (a line read with ``json.loads``, a
hand-made one) is read as its record."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from emocare.faces import EMOTIONS, UNCERTAIN
from emocare.names import make_folder
from emocare.records import CareRecord, ChangeRecord, EndRecord, MoodRecord, Record, StartRecord, as_records

MOOD_ORDER = EMOTIONS + (UNCERTAIN,)


@dataclass
class PersonSummary:
    id: int
    seconds: dict[str, float] = field(default_factory=dict)
    changes: int = 0
    primary: bool = False
    primary_rows: int = 0

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())


@dataclass
class Report:
    source: str
    engine: str
    duration_s: float
    people: list[PersonSummary]
    changes: int
    care: list[CareRecord]
    ended: str | None

    @property
    def changes_per_min(self) -> float:
        return self.changes / (self.duration_s / 60.0) if self.duration_s > 0 else 0.0


Records = Iterable[Record | Mapping]  # records, or their JSON objects


def summarize(records: Records, period_s: float = 1.0) -> Report:
    records = as_records(records)
    start = next((r for r in records if isinstance(r, StartRecord)), None)
    end = next((r for r in reversed(records) if isinstance(r, EndRecord)), None)
    moods = _moods_by_person(records)
    people: dict[int, PersonSummary] = {}
    end_t = _last_t(records)  # once, not once per person: linear in the journal
    for pid, rows in moods.items():
        person = people[pid] = PersonSummary(id=pid)
        for r, span in _spans(rows, end_t, period_s):
            person.seconds[r.mood] = person.seconds.get(r.mood, 0.0) + span
        person.primary_rows = sum(bool(r.primary) for r in rows)
    # one person is "the primary": the one care acted for most of the time (the largest face can change hands)
    lead = max(people.values(), key=lambda p: p.primary_rows, default=None)
    for p in people.values():
        p.primary = p is lead and p.primary_rows > 0
    changes = 0
    for r in records:
        if isinstance(r, ChangeRecord):
            changes += 1
            if r.id in people:
                people[r.id].changes += 1
    ts = [r.t for r in records]
    duration = (max(ts) - min(ts)) if ts else 0.0
    return Report(
        source=str(_or(start and start.source, "?")),
        engine=str(_or(start and start.engine, "?")),
        duration_s=duration,
        people=sorted(people.values(), key=lambda p: -p.total_s),
        changes=changes,
        care=[r for r in records if isinstance(r, CareRecord)],
        ended=end.reason if end else None,
    )


def _last_t(records: list[Record]) -> float:
    """The journal's last time: where its last mood line's span ends at the latest."""
    return max((x.t for x in records), default=0.0)


def _spans(rows: list[MoodRecord], end_t: float, period_s: float):
    """Each mood line of one person with the seconds it stands for: up to the next line (at most two periods: a gap
    is time unseen), the last one up to a period but not past the journal's last time ``end_t``."""
    for i, r in enumerate(rows):
        nxt = rows[i + 1].t if i + 1 < len(rows) else min(r.t + period_s, max(end_t, r.t))
        yield r, max(0.0, min(nxt - r.t, 2 * period_s))


def _or(value, default):
    """``value``, or ``default`` where the journal did not say (a field read as ``None``)."""
    return default if value is None else value


def _moods_by_person(records: list[Record]) -> dict[int | str, list[MoodRecord]]:
    """Each person's mood lines, in time order (one pass over the journal)."""
    moods: dict = defaultdict(list)
    for r in records:
        if isinstance(r, MoodRecord):
            moods[r.id].append(r)
    for rows in moods.values():
        rows.sort(key=lambda r: r.t)
    return moods


def text(value) -> str:
    """A journal's value as terminal text: never Rich markup (``[/x]`` in a file name or a message), never a
    control character (ESC, OSC, NUL: written ``\x1b``), never a stream's password."""
    from rich.markup import escape

    from emocare.sources import shown

    return escape(shown(str(value)))


def tables(report: Report, lang: str = "en"):
    """Rich renderables in ``lang`` (``terminal_words``): the heading, one table of moods per person (a column per
    mood where the terminal is wide, a row per person where it is not), one of care events."""
    from emocare.tables import ByWidth
    from emocare.terminal_words import words_for

    w, name = words_for(lang)
    wide, narrow = _people_tables(report, w, name)
    out = [*_heading(report, w, lang), ByWidth(wide, narrow) if report.people else wide]
    if report.care:
        out.append(_care_table(report, w, name))
    return out


def _heading(report: Report, w: Mapping[str, str], lang: str) -> list:
    """The heading above the tables (not their title, which wraps at the table's width): the source on a line of
    its own, broken only after a "/"; the figures broken only between them ("ended: end of | source" at 80)."""
    from emocare.sources import shown
    from emocare.tables import Phrases, path_phrases
    from emocare.terminal_words import ended_words

    changes = w["changes_one" if report.changes == 1 else "changes_many"].format(n=report.changes)
    figures = [f"{shown(str(report.engine))} | ", w["seconds"].format(t=report.duration_s) + " | ",
               changes + w["per_min"].format(x=report.changes_per_min) + " | ",
               w["cares_one" if len(report.care) == 1 else "cares_many"].format(n=len(report.care))]
    figures[-1] += " | "
    if report.ended:
        figures.append(w["ended"].format(why=shown(ended_words(lang, str(report.ended)))))
    else:  # a journal read while its session runs, or one a crash or a full disk cut short
        figures.append(w["not_ended"])
    return [Phrases([w["session"], *path_phrases(shown(str(report.source)))]), Phrases(figures)]


def _people_tables(report: Report, w: Mapping[str, str], name):
    """Time in each mood per person: a column per mood (wide), and a row per person with their moods as one list
    that wraps between its items (narrow: below 100 columns a column per mood cut the headers in two)."""
    from rich.table import Table

    moods = [m for m in MOOD_ORDER if any(m in p.seconds for p in report.people)]
    t = Table()
    t.add_column(w["col_person"], no_wrap=True)  # "#1（主要）" has no space to break at, and must not fold
    for m in moods:
        t.add_column(w["col_mood_s"].format(mood=name(m)), justify="right", overflow="fold")
    t.add_column(w["col_changes"], justify="right", overflow="fold")  # over the time this person was seen
    if not report.people:
        t.add_row(w["no_face"], *["-"] * (len(moods) + 1))
    n = Table()
    n.add_column(w["col_person"])
    n.add_column(w["col_seconds"])
    n.add_column(w["col_changes"], justify="right")
    for p in report.people:
        per_min = f"{p.changes / (p.total_s / 60.0) if p.total_s > 0 else 0.0:.1f}"
        who = f"#{text(p.id)}{w['primary'] if p.primary else ''}"
        t.add_row(who, *[f"{p.seconds.get(m, 0.0):.1f}" for m in moods], per_min)
        n.add_row(who, ", ".join(f"{name(m)} {p.seconds[m]:.1f}" for m in moods if p.seconds.get(m, 0.0) > 0) or "-",
                  per_min)
    return t, n


def _care_table(report: Report, w: Mapping[str, str], name):
    from rich.table import Table

    from emocare.terminal_words import action_words

    c = Table(title=w["care_title"], title_justify="left")
    for col in ("col_t", "col_person", "col_mood", "col_action", "col_message"):
        c.add_column(w[col], overflow="fold")
    for r in report.care:
        c.add_row(f"{r.t:.1f}", f"#{text(_or(r.id, '?'))}", text(name(r.mood) if r.mood is not None else ""),
                  text(action_words(w, r.action, "")), text(_or(r.message, "")))
    return c


def plot(records: Records, path: Path, period_s: float = 1.0, lang: str = "en") -> Path:
    """A mood timeline per person (one row each, coloured by mood), with care events marked; its words in ``lang``
    (English where no font on this machine draws Chinese: matplotlib's own do not)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from emocare.overlay import COLORS
    from emocare.terminal_words import action_words, words_for

    def rgb(label):
        b, g, r = COLORS.get(label, COLORS[UNCERTAIN])
        return (r / 255, g / 255, b / 255)

    family = _plot_family(lang)
    words, mood_name = words_for(lang if family else "en")
    records = as_records(records)
    report = summarize(records, period_s)
    ids = [p.id for p in report.people] or [0]
    with matplotlib.rc_context({"font.family": family} if family else {}):
        fig, ax = plt.subplots(figsize=(11, 1.2 + 0.6 * len(ids)), dpi=110)
        moods = _moods_by_person(records)
        end_t = _last_t(records)
        for row, pid in enumerate(ids):  # the bars the table's seconds add up (the last ends with the session)
            for r, span in _spans(moods.get(pid, []), end_t, period_s):
                ax.broken_barh([(r.t, span)], (row - 0.4, 0.8), facecolors=rgb(r.mood))
        for r in report.care:
            ax.axvline(r.t, color="black", linestyle="--", linewidth=1)
            ax.text(r.t, len(ids) - 0.45, action_words(words, r.action, words["action_care"]), fontsize=8, rotation=90,
                    va="top")
        ax.set_yticks(range(len(ids)), [f"#{i}" for i in ids])
        ax.set_xlabel(words["plot_time"])
        title = words["plot_title"].format(source=shown(Path(report.source).name), engine=shown(report.engine))
        ax.set_title(title.replace("$", r"\$"))
        used = sorted({r.mood for r in records if isinstance(r, MoodRecord)},
                      key=lambda m: MOOD_ORDER.index(m) if m in MOOD_ORDER else 99)
        ax.legend(handles=[Patch(color=rgb(m), label=mood_name(m)) for m in used], loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax.set_ylim(-0.6, len(ids) - 0.4)
        return save_figure(fig, path)


def _plot_family(lang: str) -> list[str] | None:
    """The font family for a plot in ``lang``: None for matplotlib's own (Latin), or the CJK font the window uses
    (``fonts.find_font``) before DejaVu Sans; None where no font draws Chinese (or it cannot be opened)."""
    if lang != "zh":
        return None
    from matplotlib import font_manager

    from emocare.fonts import find_font

    path = find_font(True)
    if path is None:
        return None
    try:
        font_manager.fontManager.addfont(path)
        return [font_manager.FontProperties(fname=path).get_name(), "DejaVu Sans"]
    except (OSError, RuntimeError, ValueError):  # a font file FreeType cannot open: English, not a traceback
        return None


def shown(value: str) -> str:
    from emocare.sources import shown as _shown

    return _shown(value)


def save_figure(fig, path: Path) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    make_folder(path.parent)
    fig.savefig(path)
    plt.close(fig)
    return path
