"""MTCNN's ONet (the second face check, run by OpenCV): its file, and what it adds to the check."""

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA, altered, shipped_model_copy
from emocare.engines import onet
from emocare.engines.blazeface import BlazeFaceDetector
from emocare.engines.confirm import AGREE, Candidate, Confirmer, evidence
from emocare.engines.lite import CONFIRM
from emocare.engines.onet import ONet
from emocare.errors import ModelMissing
from emocare.sources import load_image


def test_onet_reads_faces_the_way_round_it_learnt_them():
    """MTCNN's networks came from Caffe and take the image transposed: fed the right way, upright FER2013 faces (a
    grey border around each) score far higher than the same squares turned the other way."""
    net = ONet()
    right, wrong = [], []
    for path in sorted((DATA / "fer_val210" / "happy").glob("*.jpg"))[:20]:
        padded = cv2.copyMakeBorder(cv2.imread(str(path)), 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        square = cv2.cvtColor(cv2.resize(padded, (48, 48), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        right.append(net.probability(square))
        wrong.append(net.probability(np.ascontiguousarray(square.transpose(1, 0, 2))))
    assert np.median(right) > 0.5 > 0.1 > np.median(wrong)


@pytest.fixture(scope="module")
def detector():
    return BlazeFaceDetector("back", min_score=0.4)


def test_a_face_scores_high_and_the_cats_sure_boxes_score_nothing(detector):
    face = detector.scored(load_image(DATA / "pyfeat_single_face.jpg"))
    assert len(face) == 1 and min(face[0].onet) > 0.95
    image = load_image(DATA / "skimage_chelsea.jpg")
    h, w = image.shape[:2]
    sure_of = []
    for zoom in (1.3, 1.4, 1.5):  # where the landmark model is sure the cat is a face
        cw, ch = int(w / zoom), int(h / zoom)
        view = cv2.resize(image[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw], (640, 480))
        sure_of += [d.onet[0] for d in detector.scored(view) if d.presence >= 0.9]  # one look's square
    assert sure_of and max(sure_of) < 0.05


def test_a_frowning_face_the_landmark_model_refuses_is_found_when_held_still(detector):
    """A face 7 of 10 FER+ annotators call disgusted, 100 px: the landmark model gives it face-presence 0.004, under
    the old floor (0.01) on every pass, so it was never found however long it stayed; ONet gives it 0.99."""
    face = cv2.resize(cv2.imread(str(DATA / "fer_val210" / "disgust" / "PublicTest_82624961.jpg")), (100, 100))
    frame = np.full((360, 640, 3), 128, np.uint8)
    frame[100:200, 250:350] = face  # held still: the same frame pass after pass
    both, landmark_only = Confirmer(**CONFIRM), Confirmer(**dict(CONFIRM, floor=0.01))
    found, before = [], []
    for _ in range(5):
        boxes = detector.scored(frame)
        assert len(boxes) == 1 and boxes[0].presence < 0.01 < 0.1 < evidence(boxes[0].presence, boxes[0].onet)
        found.append(bool(both.update([Candidate(d.box, d.score, d.presence, d.onet) for d in boxes]).faces))
        before.append(bool(landmark_only.update([Candidate(d.box, d.score, d.presence) for d in boxes]).faces))
    assert found == [False, False, True, True, True] and not any(before)


def test_the_squares_are_scored_in_one_batch_as_one_by_one():
    """ONet's graph declares a batch of one; OpenCV runs the two squares in one pass all the same, and each
    probability is the one a pass of its own gives."""
    net = ONet()
    squares = []
    for path in sorted((DATA / "fer_val210" / "sad").glob("*.jpg"))[:3]:
        squares.append(cv2.cvtColor(cv2.resize(cv2.imread(str(path)), (48, 48)), cv2.COLOR_BGR2RGB))
    squares.append(np.full((48, 48, 3), 90, np.uint8))
    batch = net.probabilities(np.stack(squares))
    assert batch == pytest.approx([net.probability(s) for s in squares], abs=1e-5)


def test_a_big_frowning_face_one_square_doubts_is_found_when_held_still(detector):
    """A 190 px angry face: the landmark model is sure of it (presence 1.0), but ONet on the square of 1.4 box sides
    gives it under confirm.AGREE, so one look refuses it, and with that square alone its streak never began; on the
    square of 1.2 it scores far higher, and the streak, held to the mean of the two, finds it on the third pass."""
    face = cv2.resize(cv2.imread(str(DATA / "fer_val210" / "angry" / "PublicTest_5964952.jpg")), (190, 190))
    frame = np.full((360, 640, 3), 128, np.uint8)
    frame[80:270, 220:410] = face
    (box,) = detector.scored(frame)
    at14, at12 = box.onet
    assert onet.CROPS == (1.4, 1.2) and box.presence > 0.99 and at14 < AGREE < 0.1 < (at14 + at12) / 2
    assert detector.detect(frame) == []  # one look (a photo)
    confirmer = Confirmer(**CONFIRM)
    found = [bool(confirmer.update([Candidate(box.box, box.score, box.presence, box.onet)]).faces) for _ in range(4)]
    assert found == [False, False, True, True]


@pytest.fixture
def altered_model(tmp_path, monkeypatch):
    return shipped_model_copy(onet, tmp_path, monkeypatch)


def test_altered_model_are_refused(altered_model):
    altered(altered_model)
    with pytest.raises(ModelMissing, match="onet.onnx.*sha256"):
        ONet()


def test_a_missing_model_is_exit_5_in_one_line(altered_model):
    from emocare.cli import app

    altered_model.unlink()
    result = CliRunner().invoke(app, ["analyze", str(DATA / "pyfeat_single_face.jpg")])
    assert result.exit_code == 5
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "onet.onnx" in lines[0] and "Traceback" not in result.output
