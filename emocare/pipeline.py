"""The one shared pipeline: frame → engine → tracker → rolling window → ``Faces``.

``watch`` (live or file), and the bench's pipeline runs call ``Pipeline.step``;
the care policy, overlay and journal read the ``Faces`` it returns.
"""

from __future__ import annotations

import numpy as np

from emocare.engines import Engine, analyze_frame
from emocare.faces import Faces
from emocare.smoothing import MoodParams, Smoother
from emocare.tracking import Tracker
from emocare.settings import DEFAULTS


class Pipeline:
    def __init__(self, engine: Engine, *, max_side: int = DEFAULTS.max_side, mood: MoodParams | None = None,
                 track_grace_s: float = DEFAULTS.track_grace_s):
        self.engine = engine
        self.max_side = max_side
        self.tracker = Tracker(grace_s=track_grace_s)
        self.smoother = Smoother(mood or MoodParams())

    @classmethod
    def from_settings(cls, engine: Engine, settings) -> "Pipeline":
        mood = MoodParams.from_settings(settings, getattr(engine, "negative_threshold", None))
        return cls(engine, max_side=settings.max_side, mood=mood,
                   track_grace_s=settings.track_grace_s)

    def step(self, image: np.ndarray, index: int, t: float) -> Faces:
        faces = analyze_frame(self.engine, image, max_side=self.max_side, frame_index=index, t=t, stream=True)
        return self.smoother.update(self.tracker.update(faces))

    def reset(self) -> None:
        self.tracker.reset()
        self.smoother.reset()
