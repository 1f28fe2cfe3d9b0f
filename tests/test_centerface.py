"""CenterFace (the third face check, asked in video on the boxes the other two doubt): its file, its scores, and
what it adds to the confirmer."""

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA, altered, shipped_model_copy
from emocare.engines import centerface
from emocare.engines.blazeface import BlazeFaceDetector
from emocare.engines.centerface import SIDE, CenterFace
from emocare.engines.confirm import ACCEPT, AGREE, Candidate, Confirmer, evidence
from emocare.engines.lite import CONFIRM
from emocare.errors import ModelMissing
from emocare.sources import load_image


@pytest.fixture(scope="module")
def net():
    return CenterFace()


def test_a_face_scores_high_and_a_brick_wall_nothing(net):
    rgb = cv2.cvtColor(load_image(DATA / "pyfeat_single_face.jpg"), cv2.COLOR_BGR2RGB)
    (face,) = BlazeFaceDetector("back").detect(load_image(DATA / "pyfeat_single_face.jpg"))
    assert net.score(rgb, face.box) > 0.8
    assert net.score(rgb, (400, 400, 80, 80)) < 0.1  # the background below the face, inside the image
    wall = cv2.cvtColor(load_image(DATA / "skimage_brick.jpg"), cv2.COLOR_BGR2RGB)
    assert max(net.score(wall, (x, y, 80, 80)) for x in range(0, 400, 60) for y in range(0, 300, 60)) < 0.1


def test_it_answers_for_the_asked_box_only(net):
    """A face CenterFace sees in the crop counts only where it overlaps the asked box: a box a fifth of the face's
    side, on the face, gets far less than the face's own box."""
    rgb = cv2.cvtColor(load_image(DATA / "pyfeat_single_face.jpg"), cv2.COLOR_BGR2RGB)
    (face,) = BlazeFaceDetector("back").detect(load_image(DATA / "pyfeat_single_face.jpg"))
    x, y, w, h = face.box
    tiny = (x + w * 0.4, y + h * 0.4, w * 0.2, h * 0.2)  # a box a fifth the face's side, on the face
    assert net.score(rgb, face.box) > 0.8 > net.score(rgb, tiny)


def test_it_is_asked_on_one_crop_size_only(net):
    """OpenCV's DNN module answers wrongly after its input changes shape, so the network sees SIDE x SIDE crops
    only: a box's score is the same before and after boxes of other sizes are asked."""
    with pytest.raises(ValueError, match=f"{SIDE}x{SIDE}"):
        net.boxes(np.zeros((SIDE, SIDE * 2, 3), np.uint8))
    rgb = cv2.cvtColor(load_image(DATA / "pyfeat_single_face.jpg"), cv2.COLOR_BGR2RGB)
    (face,) = BlazeFaceDetector("back").detect(load_image(DATA / "pyfeat_single_face.jpg"))
    first = net.score(rgb, face.box)
    net.score(rgb, (10, 10, 30, 30)), net.score(rgb, (0, 0, 500, 500))
    assert net.score(rgb, face.box) == pytest.approx(first, abs=1e-6)


def test_the_detector_leaves_out_exactly_the_boxes_the_confirmer_takes_at_once_without_it():
    """The detector skips CenterFace on a box one look is sure of (``confirm.sure`` at its ``verify``, with
    ``confirm.AGREE``) at BlazeFace ``centre`` or more; that is the confirmer's at-once rule only while the stream's
    settings say the same."""
    assert CONFIRM["accept"] == ACCEPT and CONFIRM["agree"] == AGREE
    detector = BlazeFaceDetector("back", min_score=0.4, centre=CONFIRM["accept_score"])
    assert detector.verify_threshold == CONFIRM["accept"] and detector.centre_from == CONFIRM["accept_score"]


def test_a_sad_face_both_other_networks_doubt_is_found_when_held_still():
    """A face FER+ annotators call sad, 100 px: presence 0.001 and ONet's mean under the floor (0.1) on every pass,
    so before CenterFace it was never found however long it stayed; CenterFace gives it over ``centre_floor``."""
    face = cv2.resize(cv2.imread(str(DATA / "fer_val210" / "sad" / "PublicTest_96594744.jpg")), (100, 100))
    frame = np.full((360, 640, 3), 128, np.uint8)
    frame[100:200, 250:350] = face  # held still: the same frame pass after pass
    detector = BlazeFaceDetector("back", min_score=0.4, centre=CONFIRM["accept_score"])
    three, two = Confirmer(**CONFIRM), Confirmer(**CONFIRM)
    found, before = [], []
    for _ in range(4):
        (box,) = detector.scored(frame)
        assert box.presence < 0.01 and evidence(box.presence, box.onet) < CONFIRM["floor"] < CONFIRM["centre_floor"] < box.centre
        found.append(bool(three.update([Candidate(box.box, box.score, box.presence, box.onet, centre=box.centre)]).faces))
        before.append(bool(two.update([Candidate(box.box, box.score, box.presence, box.onet)]).faces))
    assert found == [False, False, True, True] and not any(before)


def test_it_is_not_asked_on_a_box_one_look_is_sure_of():
    detector = BlazeFaceDetector("back", min_score=0.4, centre=CONFIRM["accept_score"])
    (face,) = detector.scored(load_image(DATA / "pyfeat_single_face.jpg"))
    assert face.presence > 0.9 and face.centre is None
    assert detector._centre is None  # not even loaded: a calm face at a webcam never costs its 7 MB
    assert BlazeFaceDetector("back", min_score=0.4, centre=1.01).scored(load_image(DATA / "pyfeat_single_face.jpg"))[0].centre > 0.8


@pytest.fixture
def altered_model(tmp_path, monkeypatch):
    return shipped_model_copy(centerface, tmp_path, monkeypatch)


def test_an_altered_model_is_refused(altered_model):
    altered(altered_model)
    with pytest.raises(ModelMissing, match="centerface.onnx.*sha256"):
        CenterFace()


def test_a_missing_model_is_exit_5_in_one_line_for_watch(altered_model):
    from emocare.cli import app

    altered_model.unlink()
    result = CliRunner().invoke(app, ["watch", "--source", str(DATA / "pyfeat_single_face.mp4"), "--no-window"])
    assert result.exit_code == 5, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "centerface.onnx" in lines[0] and "Traceback" not in result.output
