"""The stream detector's spared checks (``BlazeFaceDetector(spare=True)``): a score that cannot change the confirmer's
verdict is not worked out, and the verdict is the one the full check gives."""

import math

import numpy as np
import pytest

from conftest import DATA
from emocare.engines.blazeface import NOT_NEEDED, BlazeFaceDetector
from emocare.engines.confirm import AGREE, Candidate, Confirmer, sure
from emocare.engines.lite import CONFIRM
from emocare.sources import load_image

BOX = np.array([100.0, 80.0, 180.0, 160.0], np.float32)
PTS = np.array([[120, 100], [160, 100], [140, 120], [140, 140], [105, 110], [175, 110]], np.float32)


class Counting:
    """Stands in for a network: answers ``value`` and counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self, *args):
        self.calls += 1
        return self.value


@pytest.fixture
def detector(monkeypatch):
    def make(*, spare, onet, presence, centre=0.5):
        det = BlazeFaceDetector("back", min_score=0.4, centre=CONFIRM["accept_score"], spare=spare,
                                closer_presence=CONFIRM["closer_presence"])
        nets = {"onet": Counting(onet), "presence": Counting(presence), "centre": Counting(centre)}
        monkeypatch.setattr(det._onet, "scores", nets["onet"])
        monkeypatch.setattr(det, "presence", nets["presence"])
        det._centre = type("Centre", (), {"score": staticmethod(nets["centre"])})()
        return det, nets
    return make


RGB = np.zeros((240, 320, 3), np.uint8)
CUT = (100, 80, 80, 80)


def test_a_first_look_box_onet_rules_out_is_not_shown_to_the_landmark_model(detector):
    det, nets = detector(spare=True, onet=(0.01, 0.02), presence=0.99)
    presence, onet, centre = det._check(RGB, BOX, PTS, 0.6, False, CUT)
    assert nets["presence"].calls == 0 and math.isnan(presence) and presence is NOT_NEEDED
    assert onet == (0.01, 0.02) and centre == 0.5  # CenterFace is still asked: one look is not sure


def test_onet_at_agree_or_more_still_asks_the_landmark_model(detector):
    det, nets = detector(spare=True, onet=(AGREE, 0.02), presence=0.99)
    presence, _, centre = det._check(RGB, BOX, PTS, 0.6, False, CUT)
    assert nets["presence"].calls == 1 and presence == 0.99
    assert centre is None  # one look is sure at a BlazeFace score of 0.5 or more: CenterFace is not asked


def test_a_closer_look_box_under_the_presence_floor_asks_nothing_more(detector):
    det, nets = detector(spare=True, onet=(0.9, 0.9), presence=CONFIRM["closer_presence"] / 2)
    assert det._check(RGB, BOX, PTS, 0.6, True, CUT) == (CONFIRM["closer_presence"] / 2, None, None)
    assert nets["onet"].calls == 0 and nets["centre"].calls == 0
    det, nets = detector(spare=True, onet=(0.5, 0.5), presence=0.5)  # over the floor: every check, as before
    assert det._check(RGB, BOX, PTS, 0.6, True, CUT) == (0.5, (0.5, 0.5), 0.5)


def test_without_spare_every_score_is_worked_out(detector):
    det, nets = detector(spare=False, onet=(0.01, 0.02), presence=0.0)
    assert det._check(RGB, BOX, PTS, 0.6, True, CUT) == (0.0, (0.01, 0.02), 0.5)
    assert det._check(RGB, BOX, PTS, 0.6, False, CUT) == (0.0, (0.01, 0.02), 0.5)


@pytest.mark.parametrize("presence", [0.0, 0.5, 0.99, 1.0])
def test_the_spared_presence_gives_the_verdict_any_presence_gives(presence):
    """ONet's first square under AGREE: whatever the landmark model had said, the confirmer's verdict is the same."""
    assert not sure(NOT_NEEDED, (0.04, 0.3)) and not sure(presence, (0.04, 0.3))
    for onet, centre in [((0.04, 0.3), None), ((0.01, 0.01), 0.5), ((0.04, 0.2), 0.1)]:
        verdicts = []
        for p in (NOT_NEEDED, presence):
            confirmer = Confirmer(**CONFIRM)
            verdicts.append([confirmer.update([Candidate((50, 50, 80, 80), 0.6, p, onet, False, centre)])
                             for _ in range(4)])
        assert verdicts[0] == verdicts[1]


def test_the_stream_engine_spares_and_finds_the_same_face():
    from emocare.engines import build

    engine = build("emocare")
    assert engine.detector.spare and engine.detector.closer_presence == CONFIRM["closer_presence"]
    image = load_image(DATA / "pyfeat_single_face.jpg")
    full = BlazeFaceDetector("back", min_score=0.4, centre=CONFIRM["accept_score"])
    (a,), (b,) = engine.detector.scored(image), full.scored(image)
    assert a.box == b.box and a.presence == b.presence and a.onet == b.onet  # a face: ONet is sure, nothing spared
