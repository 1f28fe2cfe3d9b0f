"""The rolling-window classifier on synthetic sequences, with times passed in (no real clock)."""

import numpy as np
import pytest

from emocare.faces import EMOTIONS, UNCERTAIN, Face, Faces
from emocare.smoothing import MoodParams, PersonMood, Smoother, window_average


def onehot(label, p=0.8):
    v = np.full(7, (1 - p) / 6)
    v[EMOTIONS.index(label)] = p
    return v


def run(seq, fps, params=MoodParams()):
    """seq: list of (duration_s, label or None); returns [(t, Mood)]."""
    pm = PersonMood(params)
    out, t = [], 0.0
    for duration, label in seq:
        for _ in range(int(round(duration * fps))):
            out.append((t, pm.update(t, None if label is None else onehot(label))))
            t += 1.0 / fps
    return out


def adoption_time(moods, label, after=0.0):
    return next(t for t, m in moods if t >= after and m.label == label)


def test_window_average_mean_and_ema():
    samples = [(0.0, onehot("happy")), (1.0, onehot("sad")), (2.0, onehot("sad"))]
    assert window_average(samples, 2.0, 1.5) is not None
    mean = window_average(samples, 2.0, 5.0, "mean")
    assert mean[EMOTIONS.index("sad")] == pytest.approx((0.8 * 2 + 0.2 / 6) / 3)
    ema = window_average(samples, 2.0, 5.0, "ema")
    assert ema[EMOTIONS.index("sad")] > mean[EMOTIONS.index("sad")]  # recent samples weigh more
    assert window_average(samples, 10.0, 3.0) is None  # everything aged out


def test_flicker_is_suppressed():
    pm = PersonMood(MoodParams())
    labels, t = [], 0.0
    for i in range(300):  # 10 s at 30 fps; raw label flips every frame, happy slightly more often
        raw = "happy" if i % 5 in (0, 1, 3) else "sad"
        labels.append(pm.update(t, onehot(raw)).label)
        t += 1 / 30
    changes = sum(1 for a, b in zip(labels, labels[1:]) if a != b)
    raw_changes = 300 * 3 // 5
    assert changes <= 1 < raw_changes  # uncertain -> happy once, then steady
    assert labels[-1] == "happy"


def test_sustained_change_adopted_within_window_plus_hold():
    p = MoodParams(window_s=3.0, hold_s=1.0)
    moods = run([(6, "neutral"), (10, "sad")], fps=30, params=p)
    t_sad = adoption_time(moods, "sad", after=6.0)
    assert 6.0 + p.hold_s <= t_sad <= 6.0 + p.window_s + p.hold_s
    # valence follows with its own hold, and negative_for_s counts from its adoption
    last = moods[-1][1]
    assert last.valence == "negative" and last.concern == "sad"
    assert last.negative_for_s == pytest.approx(16.0 - 1 / 30 - next(t for t, m in moods if m.valence == "negative"), abs=1e-6)


def test_brief_dip_is_not_adopted():
    moods = run([(6, "neutral"), (0.8, "sad"), (6, "neutral")], fps=30)
    assert all(m.label != "sad" for _, m in moods)


@pytest.mark.parametrize("fps", [5, 10, 30, 60])
def test_timing_does_not_depend_on_frame_rate(fps):
    reference = adoption_time(run([(6, "neutral"), (8, "sad")], fps=30), "sad", after=6)
    assert adoption_time(run([(6, "neutral"), (8, "sad")], fps=fps), "sad", after=6) == pytest.approx(reference, abs=0.25)


def test_no_face_ages_out_and_long_gap_resets():
    p = MoodParams(window_s=3.0, hold_s=1.0, gap_reset_s=3.0)
    pm = PersonMood(p)
    t = 0.0
    for _ in range(150):
        m = pm.update(t, onehot("happy"))
        t += 1 / 30
    assert m.label == "happy"
    # nobody seen: the window empties; after hold the mood becomes uncertain
    for _ in range(150):
        m = pm.update(t, None)
        t += 1 / 30
    assert m.label == UNCERTAIN
    # seen again after a gap longer than gap_reset_s: state starts fresh
    m = pm.update(t + 5, onehot("sad"))
    assert m.label == UNCERTAIN and m.since == pytest.approx(t + 5)


def test_low_confidence_is_uncertain():
    pm = PersonMood(MoodParams(min_confidence=0.3))
    flat = np.full(7, 1 / 7)
    for i in range(90):
        m = pm.update(i / 30, flat)
    assert m.label == UNCERTAIN


def test_adopted_mood_is_kept_down_to_keep_confidence():
    """Hysteresis on the threshold: a mood adopted at >= min_confidence stays while it leads with
    >= keep_confidence, and turns uncertain only below it; a new leader needs min_confidence."""
    params = MoodParams(min_confidence=0.30, keep_confidence=0.25, hold_s=1.0, window_s=3.0)
    pm = PersonMood(params)
    t = 0.0
    for _ in range(150):  # 5 s of a clear neutral
        m = pm.update(t, onehot("neutral", 0.6))
        t += 1 / 30
    assert m.label == "neutral"
    for _ in range(300):  # 10 s at 0.27: below min_confidence, above keep_confidence
        m = pm.update(t, onehot("neutral", 0.27))
        t += 1 / 30
        assert m.label == "neutral"
    for _ in range(300):  # 10 s at 0.22: below keep_confidence too
        m = pm.update(t, onehot("neutral", 0.22))
        t += 1 / 30
    assert m.label == UNCERTAIN
    for _ in range(300):  # a new leader at 0.27 is not adopted from uncertain
        m = pm.update(t, onehot("sad", 0.27))
        t += 1 / 30
    assert m.label == UNCERTAIN


def test_keep_confidence_equal_to_min_confidence_has_no_hysteresis():
    pm = PersonMood(MoodParams(min_confidence=0.30, keep_confidence=0.30))
    t = 0.0
    for _ in range(150):
        m = pm.update(t, onehot("neutral", 0.6))
        t += 1 / 30
    for _ in range(150):
        m = pm.update(t, onehot("neutral", 0.27))
        t += 1 / 30
    assert m.label == UNCERTAIN


def test_a_new_person_is_not_judged_negative_before_a_full_window():
    """Sad from the first frame: the label follows after the hold, but valence waits for one window of samples
    (then its own hold), so one or two faces never start the comfort clock."""
    p = MoodParams(window_s=3.0, hold_s=1.0)
    moods = run([(8, "sad")], fps=30, params=p)
    assert adoption_time(moods, "sad") == pytest.approx(1.0, abs=0.05)
    first_negative = next(t for t, m in moods if m.valence == "negative")
    assert p.window_s + p.hold_s - 0.05 <= first_negative <= p.window_s + p.hold_s + 0.1
    assert all(m.valence != "negative" for t, m in moods if t < p.window_s)


def test_smoother_keeps_one_window_per_track():
    sm = Smoother(MoodParams(hold_s=0.5))
    t = 0.0
    for _ in range(150):  # 5 s: a full window, then the hold, before valence may turn negative
        faces = Faces(faces=(Face((0, 0, 10, 10), onehot("happy"), track_id=1),
                             Face((50, 0, 10, 10), onehot("angry"), track_id=2)), t=t)
        out = sm.update(faces)
        t += 1 / 30
    assert [f.mood.label for f in out] == ["happy", "angry"]
    assert out.faces[1].mood.valence == "negative"
    assert faces.faces[0].mood is None  # input untouched: a new value comes back


def test_an_auto_threshold_follows_the_model_and_a_given_one_wins():
    from dataclasses import replace

    from emocare.settings import DEFAULTS

    assert MoodParams.from_settings(DEFAULTS, 0.45).negative_threshold == 0.45  # the model's own
    assert MoodParams.from_settings(DEFAULTS, None).negative_threshold == 0.6  # a model that declares none
    assert MoodParams.from_settings(replace(DEFAULTS, negative_threshold=0.55), 0.45).negative_threshold == 0.55


def test_the_shipped_model_declares_its_care_threshold_and_an_engine_passes_it_on(tmp_path):
    import json
    import shutil

    from emocare import engines
    from emocare.engines.emocare_model import EmocareNet, model_path
    from emocare.pipeline import Pipeline
    from emocare.settings import DEFAULTS

    engine = engines.build("emocare")
    assert engine.negative_threshold == 0.45
    assert Pipeline.from_settings(engine, DEFAULTS).smoother.params.negative_threshold == 0.45
    # a model whose description names none (generation 4, a model trained since): "auto" is 0.6
    shutil.copy(model_path(), tmp_path / "m.tflite")
    meta = json.loads(model_path().with_suffix(".json").read_text())
    meta.pop("care")
    (tmp_path / "m.json").write_text(json.dumps(meta))
    assert EmocareNet(tmp_path / "m.tflite").negative_threshold is None
