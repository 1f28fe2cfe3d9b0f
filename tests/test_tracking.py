import numpy as np

from emocare.faces import Face, Faces
from emocare.tracking import Tracker, iou

S = np.full(7, 1 / 7)


def warm(tr, t0, *boxes, n=3):
    for i in range(n):
        out = tr.update(frame(t0 + i * 0.01, *boxes))
    return out


def frame(t, *boxes):
    return Faces(faces=tuple(Face(b, S) for b in boxes), t=t)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_moving_face_keeps_its_id_and_two_faces_get_two():
    tr = Tracker()
    ids = []
    for i in range(30):
        out = tr.update(frame(i / 30, (100 + 3 * i, 100, 80, 80), (400, 100, 60, 60)))
        ids.append(tuple(f.track_id for f in out))
    assert set(ids[2:]) == {(1, 2)} and ids[0] == (None, None)  # confirmed after 3 detections
    assert out.primary == 1  # the larger face


def test_grace_period_then_new_id():
    tr = Tracker(grace_s=1.0)
    warm(tr, 0.0, (100, 100, 80, 80))
    tr.update(frame(0.5))  # missed detections
    assert tr.update(frame(0.9, (102, 100, 80, 80))).faces[0].track_id == 1
    tr.update(frame(1.0))
    assert tr.update(frame(2.5, (100, 100, 80, 80))).faces[0].track_id is None  # gone longer than grace: new, tentative
    assert warm(tr, 2.6, (100, 100, 80, 80)).faces[0].track_id == 2


def test_single_person_continues_wherever_the_face_jumps():
    tr = Tracker(grace_s=2.0)
    warm(tr, 0.0, (100, 100, 80, 80))
    assert tr.update(frame(0.2, (400, 50, 70, 70))).faces[0].track_id == 1
    off = Tracker(grace_s=2.0, single_person=False)
    warm(off, 0.0, (100, 100, 80, 80))
    assert off.update(frame(0.2, (400, 50, 70, 70))).faces[0].track_id is None
    assert warm(off, 0.3, (400, 50, 70, 70)).faces[0].track_id == 2


def test_one_frame_false_positive_never_becomes_a_person():
    tr = Tracker()
    out = tr.update(frame(0.0, (10, 10, 50, 50)))
    assert out.faces[0].track_id is None and out.primary is None
    assert tr.update(frame(0.1)).primary is None


def test_primary_does_not_flap_between_similar_faces():
    tr = Tracker()
    out = warm(tr, 0.0, (0, 0, 80, 80), (300, 0, 78, 78))
    assert out.primary == 1
    out = tr.update(frame(0.1, (0, 0, 78, 78), (300, 0, 82, 82)))
    assert out.primary == 1  # 82^2 is not 25% more than 78^2
    out = tr.update(frame(0.2, (0, 0, 60, 60), (300, 0, 90, 90)))
    assert out.primary == 2
