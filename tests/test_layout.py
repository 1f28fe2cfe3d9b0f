"""The window's layers never hide one another: header, care banner, labels, score bars, mood strip.

Rendered by the real ``Session.render`` at 640x360 and 1280x720 with a face
near the top (where the bars used to cover the header) and a comfort banner
showing (which used to cover the label); the screenshots land in
``EMOCARE_SHOTS`` when set, to look at.
"""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DATA
from emocare.faces import Face, Faces, Mood
from emocare.journal import Journal
from emocare.live import Session, WatchOptions
from emocare.overlay import overlaps
from emocare.sources import Frame


class _Banner:
    muted = False

    def banner(self, t):
        return ("I'm here with you. It's okay to feel sad for a while.", None)

    def observe(self, faces):
        pass


def _faces(boxes, size):
    scores = np.array([0.05, 0.02, 0.1, 0.03, 0.6, 0.05, 0.15])
    mood = Mood(label="sad", confidence=0.6, valence="negative", negative_for_s=6.0, scores=scores, since=0.0)
    return Faces(faces=tuple(Face(box=b, scores=scores, track_id=i + 1, mood=mood) for i, b in enumerate(boxes)),
                 frame_index=0, t=10.0, engine="emocare", ms=1.0, size=size, primary=1)


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
@pytest.mark.parametrize("where", ["top", "middle", "bottom", "two"])
def test_no_layer_hides_another(tmp_path, size, where):
    w, h = size
    image = cv2.resize(cv2.imread(str(DATA / "pyfeat_single_face.jpg")), (w, h))
    f = w / 640
    boxes = {"top": [(int(250 * f), int(8 * f), int(110 * f), int(110 * f))],
             "middle": [(int(260 * f), int(120 * f), int(110 * f), int(110 * f))],
             "bottom": [(int(260 * f), int(215 * f), int(110 * f), int(110 * f))],
             "two": [(int(40 * f), int(20 * f), int(100 * f), int(100 * f)),
                     (int(480 * f), int(150 * f), int(120 * f), int(120 * f))]}[where]
    with Journal(tmp_path / "j.jsonl") as journal:
        session = Session(None, journal, WatchOptions(source_label="clip.mp4", show_window=False), carer=_Banner())
        session.history.extend([(0.0, "neutral"), (6.0, "sad")])
        shot = session.render(Frame(image=image, index=0, t=10.0), _faces(boxes, size))
    names = [n for n, _ in session.layout]
    assert {"header", "banner", "strip"} <= set(names) and names.count("label") == len(boxes)
    for i, (a, ra) in enumerate(session.layout):
        for b, rb in session.layout[i + 1:]:
            assert not overlaps(ra, rb), f"{a} {ra} hides {b} {rb}"
    if os.environ.get("EMOCARE_SHOTS"):
        cv2.imwrite(str(Path(os.environ["EMOCARE_SHOTS"]) / f"layout-{w}x{h}-{where}.png"), shot)
