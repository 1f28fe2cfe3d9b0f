"""``emocare.watch.run`` as a library call: no CLI, no model, resources closed however the run ends."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import DATA
from emocare import watch
from emocare.errors import JournalError
from emocare.faces import EMOTIONS, Face
from emocare.settings import Settings

SETTINGS = replace(Settings(), quiet=True, audio="none", lang="en")


class Scripted:
    """Fixed faces: sad from 2 s on (media time of --fast), neutral before."""

    name = "scripted"
    detector_name = "none"
    last_detect_ms = last_classify_ms = None

    def __init__(self, fps: float = 15.0):
        self.fps, self.i, self.closed = fps, 0, False

    def analyze(self, image, *, stream=False):
        t, self.i = self.i / self.fps, self.i + 1
        p = np.full(7, 0.02)
        p[EMOTIONS.index("sad" if t >= 2.0 else "neutral")] = 0.88
        return [Face(box=(10, 10, 60, 60), scores=p / p.sum())]

    def classify(self, image, boxes):
        return []

    def reset(self):
        self.i = 0

    def close(self):
        self.closed = True


class Events:
    """A sink: counts what the run reports, and whether it was entered and left."""

    def __init__(self):
        self.faces, self.records, self.entered, self.left = 0, [], False, False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.left = True

    def on_faces(self, faces):
        self.faces += 1

    def on_record(self, record):
        self.records.append(record.type)


def test_fast_run_returns_the_journal_lines_and_closes_engine_and_sinks(tmp_path):
    engine, sink = Scripted(), Events()
    clip = DATA / "sessions" / "sad_brief.mp4"
    request = watch.WatchRequest(source=str(clip), fast=True, show_window=False, journal=tmp_path / "j.jsonl")
    run = watch.run(SETTINGS, request, [sink], build_engine=lambda s: engine)
    assert run.result.reason == "end of source" and run.result.exit_code == 0
    assert run.label == str(clip) and run.journal == tmp_path / "j.jsonl"
    types = [r.type for r in run.records]
    assert types[0] == "start" and types[-1] == "end"
    assert run.records[0].engine == "scripted" and run.records[0].mode == "fast"
    assert run.records[0].config["negative_threshold"] == 0.6  # "auto", as it resolved: the scripted engine names none
    assert sink.entered and sink.left and sink.faces == run.result.analysed_frames == engine.i
    assert sink.records == types  # every line, the start line included, reached the sink as it was written
    assert engine.closed


def test_fast_needs_a_file():
    with pytest.raises(Exception, match="--fast needs a video file"):
        watch.run(SETTINGS, watch.WatchRequest(fast=True), build_engine=lambda s: Scripted())


def test_a_journal_error_still_releases_the_camera_and_the_engine(tmp_path, monkeypatch):
    """The camera is opened first (a wrong one fails at once); a journal that cannot be written must not leak it."""
    from emocare import sources

    class Camera:
        fps, closed = 30.0, False

        def close(self):
            self.closed = True

    camera, engine = Camera(), Scripted()
    monkeypatch.setattr(sources, "open_live", lambda *a, **kw: camera)
    folder = tmp_path / "a-folder.jsonl"
    folder.mkdir()
    with pytest.raises(JournalError):
        watch.run(SETTINGS, watch.WatchRequest(show_window=False, journal=folder), build_engine=lambda s: engine)
    assert camera.closed and engine.closed


def test_the_journal_says_which_care_threshold_auto_became(tmp_path):
    engine = Scripted()
    engine.negative_threshold = 0.45  # as emocare's shipped model declares
    request = watch.WatchRequest(source=str(DATA / "sessions" / "sad_brief.mp4"), fast=True, show_window=False,
                                 journal=tmp_path / "j.jsonl")
    run = watch.run(SETTINGS, request, build_engine=lambda s: engine)
    assert SETTINGS.negative_threshold == "auto" and run.records[0].config["negative_threshold"] == 0.45
