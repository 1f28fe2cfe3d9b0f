"""Write a month of made-up ``watch`` journals, for the history page's tests, screenshot and load figure.

Each day has one to three sessions of 5 to 60 minutes, one ``mood`` line a second for one person, mood
spells of half a minute to a few minutes, a ``change`` line at each new mood, and a ``care`` line when a sad,
angry or afraid spell lasts past the persist time. Seeded: the same folder every time.

    .venv/bin/python tools/make_journals.py out/journals-30d --days 30
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from emocare.records import CareRecord, ChangeRecord, EndRecord, MoodRecord, Record, StartRecord

MOODS = ("neutral", "happy", "sad", "surprise", "angry", "fear", "disgust")
WEIGHTS = (45, 22, 14, 6, 6, 4, 3)
MESSAGES = {
    "sad": "I'm here with you. It's okay to feel sad for a while.",
    "angry": "Something got under your skin. Let's take three slow breaths together.",
    "fear": "You're safe right here. Breathe in for four, hold for four, out for four.",
    "disgust": "That didn't sit well with you. Let's take a short pause and reset.",
}


def write_session(fh, started: datetime, minutes: float, rng: random.Random) -> None:
    def line(record: Record) -> None:  # as journal.Journal writes it
        fh.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")

    line(StartRecord(t=0.0, source="camera 0", engine="emocare", detector="blazeface", mode="live",
                     config={}, started=started.isoformat(timespec="seconds")))
    t, end, previous, last_care = 0.0, minutes * 60.0, None, -1e9
    while t < end:
        mood = rng.choices(MOODS, WEIGHTS)[0]
        spell = min(end - t, rng.uniform(20, 240))
        if previous is not None and mood != previous:
            line(ChangeRecord(t=round(t, 3), id=1, from_=previous, to=mood, confidence=0.7, valence="neutral"))
        for k in range(int(spell)):
            line(MoodRecord(t=round(t + k, 3), id=1, mood=mood, confidence=round(rng.uniform(0.45, 0.9), 4),
                            valence="negative" if mood in MESSAGES else "neutral", negative_for_s=0.0, faces_seen=k + 1,
                            primary=True, box=[200, 100, 160, 160], raw=mood))
        if mood in MESSAGES and spell > 8 and t - last_care > 60:
            last_care = t + 6
            line(CareRecord(t=round(t + 6, 3), id=1, mood=mood, action=rng.choice(("message", "speech")),
                            message=MESSAGES[mood], lang="en", negative_for_s=6.0, audio=[]))
        t += spell
        previous = mood
    line(EndRecord(t=round(end, 3), reason="quit", summary={}))


def make(folder: Path, days: int = 30, seed: int = 7, today: datetime | None = None) -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    today = (today or datetime.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    written = []
    for d in range(days):
        day = today - timedelta(days=d)
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            started = day + timedelta(hours=rng.uniform(8, 21))
            path = folder / f"watch-{started:%Y%m%d-%H%M%S}.jsonl"
            with open(path, "w", encoding="utf-8") as fh:
                write_session(fh, started, rng.uniform(5, 60), rng)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = make(args.folder, args.days, args.seed)
    lines = sum(1 for p in paths for _ in open(p, encoding="utf-8"))
    print(f"{len(paths)} journals, {lines} lines, in {args.folder}")


if __name__ == "__main__":
    main()
