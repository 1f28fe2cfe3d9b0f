"""The journal's typed records (``emocare.records``): each type round-trips through its JSON, a journal line is
written byte for byte as emocare always wrote it, and older, newer or hand-made lines still read."""

import json

import numpy as np
import pytest

from emocare import journal as journal_mod
from emocare.faces import EMOTIONS, Face, Faces, Mood
from emocare.journal import Journal, MoodRecorder
from emocare.records import (TYPES, CareRecord, ChangeRecord, EndRecord, ErrorRecord, MoodRecord, OtherRecord, Record,
                             SnapshotRecord, StartRecord, as_records, check, from_json)

# one record of each type, as emocare writes it, and the line it has always been on disk (the writers before
# the records were typed: watch.run, MoodRecorder, care.write_care, live.Session, sinks.SnapshotSink)
WRITTEN = [
    (StartRecord(t=0.0, source="clip.mp4", engine="emocare", detector="auto", mode="fast",
                 config={"window_s": 3.0, "negative": ["sad"], "quiet": False}, started="2026-11-26T18:22:55"),
     '{"type": "start", "t": 0.0, "source": "clip.mp4", "engine": "emocare", "detector": "auto", "mode": "fast", '
     '"config": {"window_s": 3.0, "negative": ["sad"], "quiet": false}, "started": "2026-11-26T18:22:55"}'),
    (MoodRecord(t=1.5, id=1, mood="sad", confidence=0.8123, valence="negative", negative_for_s=1.5, faces_seen=12,
                primary=True, box=[10, 20, 50, 60], raw="fear"),
     '{"type": "mood", "t": 1.5, "id": 1, "mood": "sad", "confidence": 0.8123, "valence": "negative", '
     '"negative_for_s": 1.5, "faces_seen": 12, "primary": true, "box": [10, 20, 50, 60], "raw": "fear"}'),
    (ChangeRecord(t=2.0, id=1, from_="neutral", to="sad", confidence=0.7, valence="negative"),
     '{"type": "change", "t": 2.0, "id": 1, "from": "neutral", "to": "sad", "confidence": 0.7, "valence": "negative"}'),
    (CareRecord(t=13.9, id=1, mood="sad", action="message", message="我在这里陪着你。", lang="zh", negative_for_s=5.0,
                audio=["a/speech-zh.mp3"], speech="gtts", note="quiet"),
     '{"type": "care", "t": 13.9, "id": 1, "mood": "sad", "action": "message", "message": "我在这里陪着你。", '
     '"lang": "zh", "negative_for_s": 5.0, "audio": ["a/speech-zh.mp3"], "speech": "gtts", "note": "quiet"}'),
    (CareRecord(t=13.9, id=1, mood="sad", action="message", message="m", lang="en", negative_for_s=5.0, audio=[]),
     '{"type": "care", "t": 13.9, "id": 1, "mood": "sad", "action": "message", "message": "m", "lang": "en", '
     '"negative_for_s": 5.0, "audio": []}'),
    (SnapshotRecord(t=4.25, path="/snap/emocare-000012.png"),
     '{"type": "snapshot", "t": 4.25, "path": "/snap/emocare-000012.png"}'),
    (ErrorRecord(t=7.0, message="clip.mp4: stopped early: read 70 of the 90 frames it declares"),
     '{"type": "error", "t": 7.0, "message": "clip.mp4: stopped early: read 70 of the 90 frames it declares"}'),
    (EndRecord(t=26.0, reason="end of source", summary={"frames": 260, "people": [1], "changes": 7}),
     '{"type": "end", "t": 26.0, "reason": "end of source", "summary": {"frames": 260, "people": [1], "changes": 7}}'),
    (EndRecord(t=26.0, reason="journal write failed", dropped=2),
     '{"type": "end", "t": 26.0, "reason": "journal write failed", "dropped": 2}'),
]


def test_every_type_has_a_written_example():
    assert {type(r) for r, _ in WRITTEN} == set(TYPES.values())


@pytest.mark.parametrize("record, line", WRITTEN, ids=[f"{r.type}-{i}" for i, (r, _) in enumerate(WRITTEN)])
def test_each_record_round_trips_through_its_line(record, line):
    assert json.dumps(record.to_json(), ensure_ascii=False) == line  # the bytes emocare always wrote
    assert from_json(json.loads(line)) == record
    assert from_json(record.to_json()).to_json() == record.to_json()
    assert type(from_json(json.loads(line))) is type(record) and record.type == json.loads(line)["type"]


def test_the_journal_writes_each_record_as_its_line(tmp_path):
    path = tmp_path / "j.jsonl"
    seen = []
    with Journal(path) as journal:
        journal.record_sinks.append(seen.append)
        for record, _ in WRITTEN:
            assert journal.write(record) == record
    assert path.read_text(encoding="utf-8").splitlines() == [line for _, line in WRITTEN]
    assert journal_mod.read(path) == [r for r, _ in WRITTEN] == seen  # record sinks get the typed record


def test_the_journal_rounds_times_to_the_millisecond(tmp_path):
    with Journal(tmp_path / "j.jsonl") as journal:
        written = journal.write(MoodRecord(t=np.float64(1.23456789), id=1, mood="sad"))
    assert written.t == 1.235 and type(written.t) is float
    assert (tmp_path / "j.jsonl").read_text() == '{"type": "mood", "t": 1.235, "id": 1, "mood": "sad"}\n'


def test_mood_recorder_lines_are_the_ones_it_always_wrote(tmp_path):
    scores = np.full(7, 0.02)
    scores[EMOTIONS.index("sad")] = 0.88
    mood = Mood(label="sad", confidence=0.88, valence="negative", negative_for_s=0.0, scores=scores, since=0.0)
    calm = Mood(label="neutral", confidence=0.6, valence="neutral", negative_for_s=0.0, scores=scores, since=0.0)
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        recorder = MoodRecorder(journal)
        for t, m in ((0.0, calm), (0.5, mood)):
            face = Face(box=(np.int64(10), 20, 30, 40), scores=scores, track_id=1, mood=m)
            recorder.record(Faces(faces=(face,), t=t, primary=1))
    assert path.read_text().splitlines() == [
        '{"type": "mood", "t": 0.0, "id": 1, "mood": "neutral", "confidence": 0.6, "valence": "neutral", '
        '"negative_for_s": 0.0, "faces_seen": 1, "primary": true, "box": [10, 20, 30, 40], "raw": "sad"}',
        '{"type": "change", "t": 0.5, "id": 1, "from": "neutral", "to": "sad", "confidence": 0.88, "valence": "negative"}',
        '{"type": "mood", "t": 0.5, "id": 1, "mood": "sad", "confidence": 0.88, "valence": "negative", '
        '"negative_for_s": 0.0, "faces_seen": 2, "primary": true, "box": [10, 20, 30, 40], "raw": "sad"}',
    ]


def test_lines_with_missing_and_unknown_keys_still_read_and_keep_them():
    old = from_json({"type": "mood", "t": 3, "id": "a", "mood": "happy"})  # an early journal: no primary, box, raw
    assert isinstance(old, MoodRecord) and old.primary is None and old.box is None and old.t == 3
    assert old.to_json() == {"type": "mood", "t": 3, "id": "a", "mood": "happy"}
    newer = {"type": "care", "t": 1.0, "id": 2, "action": "music", "volume": 0.5, "audio": ["x.ogg"]}
    care = from_json(newer)
    assert care.extra == {"volume": 0.5} and care.message is None
    assert care.to_json() == newer and list(care.to_json()) == ["type", "t", "id", "action", "audio", "volume"]
    other = from_json({"type": "stats", "t": 9.5, "fps": 30})
    assert isinstance(other, OtherRecord) and other.type == "stats" and other.to_json() == {"type": "stats", "t": 9.5, "fps": 30}


@pytest.mark.parametrize("line, why", [
    ({"t": 1.0}, "needs a 'type'"),
    ({"type": "mood", "t": "1"}, "'t' must be a number"),
    ({"type": "end", "t": float("nan")}, "'t' must be a number"),
    ({"type": "mood", "t": 1.0, "id": 1}, "needs 'mood'"),
    ({"type": "change", "t": 1.0}, "needs 'id'"),
    ({"type": "mood", "t": 1.0, "id": [1], "mood": "sad"}, "a string 'mood' and an 'id'"),
])
def test_what_is_not_a_record_says_why(line, why):
    assert why in check(line)
    with pytest.raises(ValueError, match=why):
        from_json(line)


def test_readers_take_records_or_their_json():
    records = as_records([{"type": "start", "t": 0.0, "source": "x"}, StartRecord(t=0.0, source="y")])
    assert [type(r) for r in records] == [StartRecord, StartRecord] and [r.source for r in records] == ["x", "y"]
    assert all(isinstance(r, Record) for r in records)


def test_records_are_values():
    a = MoodRecord(t=1.0, id=1, mood="sad")
    with pytest.raises(AttributeError):
        a.mood = "happy"  # frozen: a listener cannot change what the next one sees
    assert a == MoodRecord(t=1.0, id=1, mood="sad") and a != MoodRecord(t=1.0, id=2, mood="sad")


def test_a_snapshot_is_as_private_as_the_journal_that_notes_it(tmp_path):
    from emocare.sinks import SnapshotSink

    written = []

    class Notes:
        def write(self, record):
            written.append(record)

    sink = SnapshotSink(tmp_path / "snapshots", Notes())
    path = sink.save(np.full((40, 60, 3), 200, np.uint8), 7, 1.5)
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert written[0].path == str(path) and written[0].t == 1.5
    (tmp_path / "blocked").write_text("a file where the folder would go")
    assert SnapshotSink(tmp_path / "blocked", Notes()).save(np.zeros((4, 4, 3), np.uint8), 8, 2.0) is None


def test_a_file_that_is_no_journal_says_so_and_a_torn_last_line_is_still_skipped(tmp_path):
    from emocare.errors import JournalError

    with pytest.raises(JournalError, match="a folder, not a journal"):
        journal_mod.read(tmp_path)
    text = tmp_path / "notes.jsonl"
    text.write_text("hello world\n")
    with pytest.raises(JournalError, match=r"notes.jsonl:1: not a journal line"):
        journal_mod.read(text)
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"type": "start", "t": 0}\n{"type": "mo')  # killed while writing its second line
    assert [r.type for r in journal_mod.read(torn)] == ["start"]


def test_a_torn_last_line_stays_the_last_line_until_a_new_line_is_written(tmp_path, monkeypatch):
    """A journal reused after a kill -9 got its newline at once; a run that then wrote nothing (full disk) left
    torn line + newline, which the readers name as damage. The newline now goes in with the run's first line."""
    import errno

    from emocare import journal as journal_mod
    from emocare.journal import read
    from emocare.records import MoodRecord, StartRecord

    path = tmp_path / "j.jsonl"
    whole = '{"type": "start", "t": 0.0, "source": "x"}\n{"type": "mood", "t": 1.0, "id": 1, "mood": "sad"}\n'
    path.write_text(whole + '{"type": "mood", "t": 2.0, "id"')
    torn = path.read_bytes()

    def full(fh, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(journal_mod, "_write_all", full)
        with Journal(path) as journal:
            journal.write(StartRecord(t=0.0, source="y"))
    assert path.read_bytes() == torn and len(read(path)) == 2  # as it was, read quietly
    with Journal(path) as journal:
        journal.write(StartRecord(t=0.0, source="z"))
        journal.write(MoodRecord(t=0.5, id=1, mood="happy"))
    lines = path.read_text().splitlines()
    assert lines[2] == '{"type": "mood", "t": 2.0, "id"' and lines[3].startswith('{"type": "start"')
    assert [r.type for r in read(path)] == ["start", "mood", "start", "mood"]
