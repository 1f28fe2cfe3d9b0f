"""Framing: a detected face is cut the way FER2013 cut its faces (emocare/engines/framing.py, tools/fit_framing.py)."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA
from emocare.engines import framing
from emocare.engines.framing import Framing
from emocare.errors import ModelMissing
from emocare.tracking import iou
from fit_framing import crops, face_box, frame, nearest


def _keypoints(centre, size, roll):
    """Six keypoints of a face at ``centre``, ``size`` px, its head tilted by ``roll`` degrees (eyes, nose, mouth,
    ears, in BlazeFace's order), as the detector reports them."""
    upright = np.array([(-0.2, -0.15), (0.2, -0.15), (0.0, 0.05), (0.0, 0.22), (-0.42, -0.05), (0.42, -0.05)]) * size
    a = np.radians(roll)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # y down: a positive roll lowers the right eye
    return upright @ turn.T + centre


def test_the_square_goes_back_to_where_it_was_measured_for_an_upright_or_tilted_head():
    """``targets`` (what fit_framing.py measures) and ``Framing.square`` (what the engine cuts) are each other's
    inverse, in the image's pixels, whichever way the head is tilted."""
    box = (100, 80, 120, 120)
    for roll in (0.0, 12.0, -30.0):
        kp = _keypoints(np.array([160.0, 140.0]), 120, roll)
        assert framing.eye_roll(kp) == pytest.approx(roll)
        true = (170.0, 120.0, 150.0)  # centre x, centre y, side
        (x, y, w, h), got_roll = Framing(*framing.targets(box, kp, true)).square(box, kp)
        assert got_roll == pytest.approx(roll)
        assert (x + w / 2, y + h / 2, w) == pytest.approx(true, abs=1.0), roll


def test_a_tilted_head_gets_the_square_turned_with_it():
    """Towards the forehead means up the face: for a head tilted by 90 degrees that is sideways in the image."""
    box = (100, 100, 100, 100)
    up = Framing(0.0, -0.1, 1.2)
    (x, y, w, _), _ = up.square(box, _keypoints(np.array([150.0, 150.0]), 100, 0.0))
    assert (x + w / 2, y + w / 2) == pytest.approx((150, 140), abs=0.6)
    (x, y, w, _), _ = up.square(box, _keypoints(np.array([150.0, 150.0]), 100, 90.0))
    assert (x + w / 2, y + w / 2) == pytest.approx((160, 150), abs=0.6)  # the head lies with its top to the right


@pytest.mark.parametrize("tilt", [0.0, 20.0])
def test_the_shipped_framing_finds_fer2013_crops_in_frames_better_than_a_grown_box(tilt):
    """The 210 validation crops of tests/data, placed in frames as the sessions place them: the fitted square
    overlaps the pasted crop better than BlazeFace's box squared and grown 1.25x (emocare's framing before
    the fit). Measured: median IoU 0.78 against 0.71 upright (mean 0.74 against 0.68), 0.76 against 0.71 turned by
    20 degrees (mean 0.73 against 0.70)."""
    from emocare.engines.blazeface import BlazeFaceDetector

    fitted, detector, rng = Framing.read(), BlazeFaceDetector("back"), np.random.default_rng(0)
    ours, grown = [], []
    for _, path in crops(DATA / "fer_val210", None, rng):
        image, (cx, cy, side), _ = frame(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), rng, tilt)
        d = nearest(detector.detect(image), (cx, cy, side))
        if d is None:
            continue
        pasted = (cx - side / 2, cy - side / 2, side, side)
        ours.append(iou(fitted.square(d.box, d.keypoints)[0], pasted))
        grown.append(iou(face_box(d.box, 1.25), pasted))
    assert len(ours) >= 190
    assert np.median(ours) >= 0.74, np.median(ours)
    assert np.mean(ours) >= np.mean(grown) + (0.04 if tilt == 0 else 0.02), (np.mean(ours), np.mean(grown))


def test_the_shipped_framing_says_how_it_was_made():
    data = json.loads(framing.FRAMING_PATH.read_text())
    assert data["fitted_by"].startswith("python tools/fit_framing.py --dataset ") and "train" in data["dataset"]
    assert data["detected"] > 10000
    assert data["centre_y"] < -0.05 and 1.1 < data["side"] < 1.3  # more forehead than the box, a little wider


def test_real_faces_are_cut_with_their_eyes_where_fer2013_has_them():
    """No labels needed: in FER2013's crops the eyes sit 0.40 of the way down (fit_framing.py measures it on the
    training faces). The real faces of tests/data, cut by the shipped framing, have them there too (measured:
    0.36-0.43, median 0.41); BlazeFace's box grown 1.25x put them at 0.28-0.35 (median 0.32): too much chin."""
    from emocare.engines.blazeface import BlazeFaceDetector
    from emocare.sources import load_image
    from fit_framing import landmarks_in

    fer = json.loads(framing.FRAMING_PATH.read_text())["landmarks_in_crop"]["eyes down"]
    fitted, detector = Framing.read(), BlazeFaceDetector("back", tiles=2)
    ours, grown = [], []
    for name in ("pyfeat_single_face.jpg", "deepface_img12.jpg", "deepface_img49.jpg", "derived_couple_small.jpg",
                 "pyfeat_multi_face.jpg"):
        for d in detector.detect(load_image(DATA / name)):
            ours.append(landmarks_in(fitted.square(d.box, d.keypoints)[0], d.keypoints)[1])
            grown.append(landmarks_in(face_box(d.box, 1.25), d.keypoints)[1])
    assert len(ours) == 10
    assert max(abs(v - fer) for v in ours) < 0.05, ours
    assert abs(np.median(ours) - fer) < 0.02 < fer - np.median(grown) - 0.04, (np.median(ours), np.median(grown))


def test_a_broken_framing_file_is_exit_5_in_one_line(tmp_path, monkeypatch):
    from emocare.cli import app

    broken = tmp_path / "framing.json"
    broken.write_text('{"centre_x": 0.0, "centre_y": -0.1, "side": 12}')
    with pytest.raises(ModelMissing, match="not a face's"):
        Framing.read(broken)
    monkeypatch.setattr(framing, "FRAMING_PATH", tmp_path / "missing.json")
    result = CliRunner().invoke(app, ["analyze", str(DATA / "pyfeat_single_face.jpg"), "--engine", "emocare"])
    assert result.exit_code == 5, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.json" in lines[0] and "Traceback" not in result.output
