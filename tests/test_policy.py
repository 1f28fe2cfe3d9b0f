"""Care policy and carer with a fake clock (the ``t`` of each Faces)."""

import numpy as np

from emocare.care import Carer
from emocare.care.messages import Messages
from emocare.care.policy import CarePolicy
from emocare.faces import Face, Faces, Mood


class FakeJournal:
    def __init__(self):
        self.lines = []

    def write(self, record):
        self.lines.append(record.to_json())


def faces_at(t, valence="negative", neg_for=0.0, label="sad", tid=1, primary=1, extra=()):
    mood = Mood(label=label, confidence=0.8, valence=valence, negative_for_s=neg_for, scores=np.full(7, 1 / 7),
                since=0.0, concern=label if valence == "negative" else None)
    fs = [Face((0, 0, 100, 100), np.full(7, 1 / 7), track_id=tid, mood=mood)]
    fs += [Face((200, 0, 50, 50), np.full(7, 1 / 7), track_id=e, mood=mood) for e in extra]
    return Faces(faces=tuple(fs), t=t, primary=primary)


def simulate(policy, timeline):
    """timeline: list of (t, valence); negative_for_s computed like the smoother does."""
    actions, neg_since = [], None
    for t, valence in timeline:
        if valence == "negative":
            neg_since = t if neg_since is None else neg_since
        else:
            neg_since = None
        actions += policy.decide(faces_at(t, valence, (t - neg_since) if neg_since is not None else 0.0))
    return actions


def ticks(start, end, valence, step=0.5):
    return [(start + i * step, valence) for i in range(int((end - start) / step))]


def test_persistence_then_one_action():
    acts = simulate(CarePolicy(persist_s=5, cooldown_s=60), ticks(0, 4.9, "negative"))
    assert acts == []
    acts = simulate(CarePolicy(persist_s=5, cooldown_s=60), ticks(0, 20, "negative"))
    assert [(a.t, a.level, a.mood) for a in acts] == [(5.0, "message", "sad")]


def test_cooldown_and_escalation():
    acts = simulate(CarePolicy(persist_s=5, cooldown_s=60), ticks(0, 200, "negative"))
    assert [(a.t, a.level) for a in acts] == [(5.0, "message"), (65.0, "speech"), (125.0, "music"), (185.0, "music")]


def test_reset_after_calm_but_cooldown_still_applies():
    p = CarePolicy(persist_s=5, cooldown_s=30, reset_s=10)
    tl = ticks(0, 10, "negative") + ticks(10, 25, "neutral") + ticks(25, 70, "negative")
    acts = simulate(p, tl)
    # first at 5 s; calm for 15 s resets escalation; negative again from 25 s: persist until 30, cooldown until 35
    assert [(a.t, a.level) for a in acts] == [(5.0, "message"), (35.0, "message"), (65.0, "speech")]


def test_brief_calm_does_not_reset_escalation():
    p = CarePolicy(persist_s=2, cooldown_s=10, reset_s=10)
    tl = ticks(0, 8, "negative") + ticks(8, 11, "neutral") + ticks(11, 30, "negative")
    # 2 s: message; negative again from 11 s, persist until 13 s: speech (not a fresh message); 23 s: music
    assert [(a.t, a.level) for a in simulate(p, tl)] == [(2.0, "message"), (13.0, "speech"), (23.0, "music")]


def test_primary_only_unless_all():
    f = faces_at(10.0, "negative", 10.0, tid=1, primary=1, extra=(2,))
    assert [a.person for a in CarePolicy(persist_s=5).decide(f)] == [1]
    assert [a.person for a in CarePolicy(persist_s=5, care="all").decide(f)] == [1, 2]


def test_carer_quiet_and_mute_are_visual_only():
    journal = FakeJournal()

    class Worker:
        jobs = []

        def submit(self, job):
            self.jobs.append(job)
            return True

        def close(self):
            pass

    worker = Worker()
    carer = Carer(CarePolicy(persist_s=1, cooldown_s=5), Messages(), "zh", journal, worker=worker)
    carer.muted = True
    carer.observe(faces_at(2.0, "negative", 2.0))
    assert worker.jobs == [] and journal.lines[-1]["note"] == "muted" and journal.lines[-1]["type"] == "care"
    text, english = carer.banner(3.0)
    assert any(ord(c) > 0x4E00 for c in text) and english.isascii()
    assert carer.banner(2.0 + 10.5) is None  # the banner goes away
    carer.muted = False
    carer.observe(faces_at(8.0, "negative", 8.0))
    assert len(worker.jobs) == 1 and worker.jobs[0].action.level == "speech"
    quiet = Carer(CarePolicy(persist_s=1), Messages(), "en", journal, worker=worker, quiet=True)
    quiet.observe(faces_at(3.0, "negative", 3.0))
    assert journal.lines[-1]["note"] == "quiet" and len(worker.jobs) == 1


def test_messages_rotate_and_config_overrides():
    m = Messages({"en": {"sad": ("one", "two")}})
    assert [m.pick("sad", "en")[0] for _ in range(3)] == ["one", "two", "one"]
    assert m.pick("angry", "zh")[0] != m.pick("angry", "zh")[0]
    assert m.pick("surprise", "en")[0]  # falls back to the "any" list
