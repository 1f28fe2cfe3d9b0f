"""Nobody in view (``lite.IDLE_AFTER``, ``IDLE_EVERY``): a stream's detector, which then runs on every frame, slows to
one frame in IDLE_EVERY after a while, and a person who sits down is found within IDLE_EVERY frames. Scripted:
the detector is replaced by a script of which frames hold a face."""

import numpy as np
import pytest

from emocare.engines import build
from emocare.engines.lite import IDLE_AFTER, IDLE_EVERY

FRAME = np.full((240, 320, 3), 128, np.uint8)
BOX = (100, 60, 90, 90)


@pytest.fixture(scope="module")
def engine():
    return build("emocare")


def scripted(engine, monkeypatch, face_from: int, pending: set[int] = frozenset()):
    """The engine's detector answers a face on frames from ``face_from`` on, and leaves a box waiting on the frames of
    ``pending``; returns the list of frames it was run on."""
    frame = {"i": -1}
    looked = []

    def detect(image, gray, stream):
        looked.append(frame["i"])
        engine._pending = frame["i"] in pending
        return ([BOX], [None]) if frame["i"] >= face_from else ([], [])

    monkeypatch.setattr(engine, "_detect", detect)
    engine.reset()

    def step():
        frame["i"] += 1
        return engine.analyze(FRAME, stream=True)
    return step, looked


@pytest.mark.parametrize("late", range(IDLE_EVERY))  # arriving on a frame looked at, or on each one skipped
def test_the_detector_slows_with_nobody_in_view_and_finds_a_newcomer_soon(engine, monkeypatch, late):
    arrives = IDLE_AFTER + 20 + late
    step, looked = scripted(engine, monkeypatch, face_from=arrives)
    seen = [bool(step()) for _ in range(arrives + 10)]
    assert looked[:IDLE_AFTER] == list(range(IDLE_AFTER))  # every frame at first
    idle = [i for i in looked if IDLE_AFTER <= i < arrives]
    assert idle == list(range(IDLE_AFTER + IDLE_EVERY - 1, arrives, IDLE_EVERY))  # then one frame in IDLE_EVERY
    first = seen.index(True)
    assert arrives <= first < arrives + IDLE_EVERY  # found within IDLE_EVERY frames of sitting down
    assert all(seen[first:])
    assert first == next(i for i in range(arrives, arrives + IDLE_EVERY) if (i - IDLE_AFTER + 1) % IDLE_EVERY == 0)


def test_haar_which_misses_faces_in_view_never_rests(monkeypatch):
    step, looked = scripted(build("emocare", detector="haar"), monkeypatch, face_from=10 ** 6)
    for _ in range(IDLE_AFTER * 3):
        step()
    assert looked == list(range(IDLE_AFTER * 3))


def test_a_box_waiting_for_its_streak_keeps_the_detector_on_every_frame(engine, monkeypatch):
    step, looked = scripted(engine, monkeypatch, face_from=10 ** 6, pending=set(range(0, 200, 20)))
    for _ in range(200):
        step()
    assert looked == list(range(200))  # never IDLE_AFTER passes in a row without a box waiting


def test_reset_forgets_and_a_photo_is_always_looked_at(engine, monkeypatch):
    step, looked = scripted(engine, monkeypatch, face_from=10 ** 6)
    for _ in range(IDLE_AFTER + IDLE_EVERY * 4):
        step()
    assert engine._empty_passes >= IDLE_AFTER
    before = len(looked)
    for _ in range(IDLE_EVERY):
        assert engine.analyze(FRAME) == []  # photos: the detector runs on each one, whatever the stream did
    assert len(looked) == before + IDLE_EVERY
    engine.reset()
    assert engine._empty_passes == 0 and engine._rested == 0
