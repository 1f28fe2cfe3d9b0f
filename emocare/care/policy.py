"""When to comfort, and how strongly: pure logic on ``Faces`` (their ``t`` is the clock).

- Trigger: the cared-for person's smoothed mood is negative (``negative``
  labels) and has been for at least ``persist_s`` seconds.
- Cooldown: at most one comfort per person every ``cooldown_s`` seconds.
- Escalation while they stay negative: ``message`` (on-screen text + soft
  chime) → ``speech`` (spoken message) → ``music`` (calming track).
- Reset: after ``reset_s`` seconds of non-negative mood the escalation starts
  over (the cooldown still applies, so no nagging).
- Whom: the primary person (``care="primary"``) or everyone (``"all"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emocare.faces import Faces
from emocare.settings import CareMode, DEFAULTS

LEVELS = ("message", "speech", "music")


@dataclass(frozen=True)
class CareAction:
    t: float
    person: int
    mood: str
    level: str  # one of LEVELS
    negative_for_s: float


@dataclass
class _PersonState:
    level: int = 0  # index of the next level to use
    last_action_t: float | None = None
    calm_since: float | None = None


@dataclass
class CarePolicy:
    persist_s: float = DEFAULTS.persist_s  # defaults: Settings' (the one place they are written)
    cooldown_s: float = DEFAULTS.cooldown_s
    reset_s: float = DEFAULTS.reset_s
    care: CareMode = DEFAULTS.care
    _people: dict[int, _PersonState] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, s) -> "CarePolicy":
        return cls(persist_s=s.persist_s, cooldown_s=s.cooldown_s, reset_s=s.reset_s, care=s.care)

    def decide(self, faces: Faces) -> list[CareAction]:
        t = faces.t
        actions = []
        for face in faces:
            if face.mood is None or face.track_id is None:
                continue
            if self.care == CareMode.PRIMARY and face.track_id != faces.primary:
                continue
            st = self._people.setdefault(face.track_id, _PersonState())
            mood = face.mood
            if mood.valence != "negative":
                if st.calm_since is None:
                    st.calm_since = t
                if t - st.calm_since >= self.reset_s:
                    st.level = 0
                continue
            st.calm_since = None
            if mood.negative_for_s < self.persist_s:
                continue
            if st.last_action_t is not None and t - st.last_action_t < self.cooldown_s:
                continue
            level = LEVELS[min(st.level, len(LEVELS) - 1)]
            st.level += 1
            st.last_action_t = t
            actions.append(CareAction(t=t, person=face.track_id, mood=mood.concern or mood.label, level=level,
                                      negative_for_s=mood.negative_for_s))
        return actions

    def reset(self) -> None:
        self._people.clear()
