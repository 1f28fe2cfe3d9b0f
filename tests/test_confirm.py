"""The face check's decision logic on scripted detection passes (no model, no clock)."""

import pytest

from emocare.engines.confirm import Candidate, Confirmer, evidence, stays_put, sure


def doubted(x=100.0, y=80.0, side=120.0, presence=0.3):
    """A box the landmark model doubts (below ``accept``, above ``floor``)."""
    return Candidate((x, y, side, side), 0.7, presence)


def test_a_box_the_verifier_trusts_is_a_face_at_once():
    c = Confirmer(passes=3)
    assert c.update([doubted(presence=0.95)]).faces == (0,)


def test_a_stable_doubted_box_is_confirmed_on_the_third_pass():
    c = Confirmer(passes=3, still=0.1)
    verdicts = [c.update([doubted(x=100 + k, presence=p)]) for k, p in enumerate((0.2, 0.4, 0.1, 0.3))]
    assert [v.faces for v in verdicts] == [(), (), (0,), (0,)]
    assert [v.pending for v in verdicts] == [True, True, False, False]


def test_a_flickering_box_is_never_confirmed():
    c = Confirmer(passes=3, still=0.1)
    # there, gone, there, gone...: no streak grows past one pass
    for k in range(10):
        v = c.update([doubted()] if k % 2 == 0 else [])
        assert v.faces == () and not v.kept


def test_a_drifting_box_is_never_confirmed():
    c = Confirmer(passes=3, still=0.1)
    for k in range(10):  # moves 15% of its side every pass, as the title card's false box does
        assert c.update([doubted(x=100 + 18 * k)]).faces == ()


def test_a_box_the_landmark_model_calls_no_face_is_never_confirmed_however_still():
    c = Confirmer(passes=3, floor=0.05)
    for _ in range(10):
        assert c.update([doubted(presence=0.01)]).faces == ()


def test_a_confirmed_face_survives_one_missed_pass_and_not_two():
    c = Confirmer(accept=0.9, keep_missed=1)
    assert c.update([doubted(presence=0.95)]).faces == (0,)
    missed = c.update([])
    assert missed.faces == () and [k.box for k in missed.kept] == [(100.0, 80.0, 120.0, 120.0)]
    assert c.update([doubted(presence=0.0)]).faces == (0,)  # back where it was: the same face, no new verdict
    c.update([])
    assert not c.update([]).kept  # two passes in a row without it: let go


def test_a_confirmed_face_needs_no_new_verdict_while_it_is_seen():
    c = Confirmer(passes=2)
    c.update([doubted()])
    assert c.update([doubted(x=103)]).faces == (0,)
    assert c.known_boxes() == [(103.0, 80.0, 120.0, 120.0)]
    for k in range(5):  # carried on, whatever presence the candidate carries
        assert c.update([doubted(x=110 + 5 * k, presence=0.0)]).faces == (0,)


def test_two_faces_are_confirmed_each_on_its_own_and_keep_their_tracks():
    c = Confirmer(passes=2)
    left, right = doubted(x=20), doubted(x=400, presence=0.95)
    first = c.update([left, right])
    assert first.faces == (1,)
    second = c.update([right, left])
    assert second.faces == (0, 1) and second.tracks[0] == first.tracks[0] and second.tracks[1] != first.tracks[0]


def test_a_face_the_caller_tracked_is_met_where_it_went():
    c = Confirmer()
    track = c.update([doubted(x=100, presence=0.95)]).tracks[0]
    # between passes the engine's optical flow carried the face 100 px right; the detector finds it there
    assert c.update([doubted(x=200, presence=0.0)], moved={track: (200.0, 80.0, 120.0, 120.0)}).tracks == (track,)


def test_a_miss_breaks_a_streak_that_is_not_yet_confirmed():
    c = Confirmer(passes=3)
    c.update([doubted()])
    c.update([doubted()])
    c.update([])
    assert c.update([doubted()]).faces == ()


@pytest.mark.parametrize("moved,grown,still", [(0, 1.0, True), (10, 1.0, True), (13, 1.0, False), (0, 1.12, False)])
def test_stays_put_measures_in_sides(moved, grown, still):
    a = (100.0, 100.0, 120.0, 120.0)
    b = (100.0 + moved, 100.0, 120.0 * grown, 120.0 * grown)
    if grown != 1.0:  # grown about its centre
        b = (100.0 - 60 * (grown - 1), 100.0 - 60 * (grown - 1), b[2], b[3])
    assert stays_put(a, b, 0.1) is still


def test_scores_gate_each_path():
    c = Confirmer(accept=0.9, accept_score=0.5, passes=2, streak_score=0.4)
    assert c.update([Candidate((0.0, 0.0, 100.0, 100.0), 0.45, 0.99)]).faces == ()  # sure, but too weak a box
    assert c.update([Candidate((0.0, 0.0, 100.0, 100.0), 0.45, 0.99)]).faces == (0,)  # still there: a streak of 2
    c = Confirmer(passes=2, streak_score=0.4)
    for _ in range(4):
        assert c.update([Candidate((0.0, 0.0, 100.0, 100.0), 0.35, 0.5)]).faces == ()


def test_one_look_is_sure_when_one_network_is_sure_and_the_other_not_against_it():
    c = Confirmer(accept=0.9, agree=0.05)
    assert c.update([Candidate((0.0, 0.0, 100.0, 100.0), 0.7, 0.95, 0.3)]).faces == (0,)
    assert c.update([Candidate((300.0, 0.0, 100.0, 100.0), 0.7, 0.02, 0.97)]).faces == ()  # ONet sure, landmarks not
    assert Confirmer(accept=0.9, agree=0.01).update([Candidate((0.0, 0.0, 100.0, 100.0), 0.7, 0.02, 0.97)]).faces


def test_a_box_the_landmark_model_is_sure_of_and_onet_refuses_is_never_a_face_however_still():
    """The held-up cat: face-presence 0.98, ONet 0.003."""
    c = Confirmer(accept=0.9, agree=0.05, floor=0.1, passes=3)
    for _ in range(10):
        assert c.update([Candidate((100.0, 80.0, 120.0, 120.0), 0.5, 0.98, 0.003)]).faces == ()


def test_a_still_box_onet_calls_a_face_is_confirmed_whatever_the_landmark_model_says():
    c = Confirmer(accept=0.9, agree=0.05, floor=0.1, passes=3)
    verdicts = [c.update([Candidate((100.0, 80.0, 120.0, 120.0), 0.5, 0.001, 0.4)]).faces for _ in range(3)]
    assert verdicts == [(), (), (0,)]


def test_one_look_takes_onets_first_square_and_a_streak_the_mean_of_its_squares():
    """ONet on two squares (1.4 and 1.2 box sides): a big frowning face it doubts on the first (0.02) and not on the
    second (0.77) waits for its streak (mean 0.4), and is a face on the third still pass; the cat's box, 0.016 on
    the first square and 0.22 on the second, is not sure at once, which a mean of the two (0.12) would have made it
    with presence 0.99."""
    face = Candidate((100.0, 80.0, 190.0, 190.0), 0.8, 1.0, (0.02, 0.77))
    c = Confirmer(accept=0.9, agree=0.05, floor=0.1, passes=3)
    assert [c.update([face]).faces for _ in range(3)] == [(), (), (0,)]
    cat = Candidate((100.0, 70.0, 155.0, 155.0), 0.55, 0.995, (0.016, 0.22))
    assert not sure(cat.presence, cat.onet) and sure(cat.presence, (0.117,))
    assert evidence(0.5, (0.016, 0.22)) == pytest.approx(0.118) and evidence(0.5, 0.3) == 0.3  # a float: one square


def test_onets_scores_may_be_numpy_numbers_and_one_number_is_one_square():
    import numpy as np

    assert sure(0.95, np.float32(0.06)) and not sure(0.95, np.float32(0.04))
    assert evidence(0.5, np.array([0.1, 0.3], np.float32)) == pytest.approx(0.2)
    assert evidence(0.5, np.float64(0.3)) == pytest.approx(0.3) and evidence(0.5, np.array(0.3)) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        evidence(0.5, ())


def test_a_box_of_the_closer_look_counts_only_when_the_landmark_model_allows_a_face_and_keeps_the_indices():
    """The detector's closer second look adds boxes: one the landmark model rules out is no candidate at all (not
    even the start of a streak, however sure ONet is), and the other candidates keep their places in the verdict."""
    c = Confirmer(passes=2, floor=0.1, closer_presence=0.001)
    ruled_out = Candidate((400.0, 80.0, 60.0, 60.0), 0.6, 0.0005, (0.9, 0.9), closer=True)
    face = Candidate((100.0, 80.0, 120.0, 120.0), 0.7, 0.3, (0.5, 0.5))
    verdicts = [c.update([ruled_out, face]) for _ in range(3)]
    assert [v.faces for v in verdicts] == [(), (1,), (1,)]
    assert len(c.known_boxes()) == 1
    allowed = Candidate((400.0, 80.0, 60.0, 60.0), 0.6, 0.002, (0.3, 0.2), closer=True)
    c = Confirmer(passes=2, floor=0.1, closer_presence=0.001)
    assert [c.update([allowed]).faces for _ in range(2)] == [(), (0,)]
    # the same box from the first look needs no such score
    c = Confirmer(passes=2, floor=0.1, closer_presence=0.001)
    assert [c.update([Candidate(ruled_out.box, 0.6, 0.0005, (0.3, 0.2))]).faces for _ in range(2)] == [(), (0,)]


def test_centerface_lets_a_doubted_box_keep_its_streak_and_a_box_onet_leans_to_in_at_once():
    """A screaming face both other networks doubt (presence 0.002, ONet 0.03): CenterFace's 0.25 carries its
    streak to a face on the third still pass; without CenterFace's word (None) it is never one. A box ONet leans
    to (0.2) is taken at once when CenterFace agrees (0.4), at BlazeFace's streak score or more."""
    shipped = dict(accept=0.9, agree=0.05, floor=0.1, passes=3, streak_score=0.4, centre_agree=0.3, centre_floor=0.2)
    box = (100.0, 80.0, 120.0, 120.0)
    c = Confirmer(**shipped)
    assert [c.update([Candidate(box, 0.45, 0.002, 0.03, centre=0.25)]).faces for _ in range(3)] == [(), (), (0,)]
    c = Confirmer(**shipped)
    assert [c.update([Candidate(box, 0.45, 0.002, 0.03)]).faces for _ in range(4)] == [(), (), (), ()]
    c = Confirmer(**shipped)
    assert [c.update([Candidate(box, 0.45, 0.002, 0.03, centre=0.15)]).faces for _ in range(4)] == [(), (), (), ()]
    assert Confirmer(**shipped).update([Candidate(box, 0.45, 0.002, 0.2, centre=0.4)]).faces == (0,)
    # not when ONet is against it, when CenterFace is not sure enough, or when BlazeFace's score is too low
    assert Confirmer(**shipped).update([Candidate(box, 0.45, 0.002, 0.05, centre=0.9)]).faces == ()
    assert Confirmer(**shipped).update([Candidate(box, 0.45, 0.002, 0.2, centre=0.25)]).faces == ()
    assert Confirmer(**shipped).update([Candidate(box, 0.35, 0.002, 0.2, centre=0.9)]).faces == ()
    # a Confirmer without the CenterFace settings ignores its score
    assert Confirmer(accept=0.9, agree=0.05, floor=0.1).update([Candidate(box, 0.45, 0.002, 0.2, centre=0.9)]).faces == ()
