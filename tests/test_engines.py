"""Real inference: FER's shipped model on real photos; DeepFace's real code on random weights."""

import numpy as np
import pytest

from conftest import DATA
from emocare import engines
from emocare.engines import analyze_frame, weights
from emocare.errors import ModelMissing
from emocare.faces import EMOTIONS
from emocare.sources import load_image


def _check(faces, image):
    h, w = image.shape[:2]
    for face in faces:
        assert face.scores.shape == (7,)
        assert abs(float(face.scores.sum()) - 1.0) < 1e-6
        assert face.dominant in EMOTIONS
        x, y, bw, bh = face.box
        assert 0 <= x and 0 <= y and bw > 0 and bh > 0 and x + bw <= w and y + bh <= h


@pytest.mark.parametrize("name,count", [
    ("pyfeat_single_face.jpg", 1),
    ("deepface_img12.jpg", 1),
    ("pyfeat_multi_face.jpg", 4),  # 5 people; the Haar cascade misses the one in sunglasses-shadow
    ("deepface_patreon_banner.png", 0),
    ("derived_grey_face.jpg", 1),
    ("derived_rgba_face.png", 1),
    ("derived_exif_rotated_face.jpg", 1),
])
def test_fer_on_real_photos(fer_engine, name, count):
    image = load_image(DATA / name)
    faces = analyze_frame(fer_engine, image)
    assert len(faces) == count
    _check(faces, image)


def test_fer_reads_a_smile_as_happy(fer_engine):
    faces = analyze_frame(fer_engine, load_image(DATA / "pyfeat_single_face.jpg"))
    assert faces.faces[0].dominant == "happy"


def test_exif_orientation_is_honoured(fer_engine):
    upright = analyze_frame(fer_engine, load_image(DATA / "pyfeat_single_face.jpg")).faces[0].box
    rotated = analyze_frame(fer_engine, load_image(DATA / "derived_exif_rotated_face.jpg")).faces[0].box
    assert np.allclose(upright, rotated, atol=12)


def test_large_image_boxes_in_original_pixels(fer_engine):
    image = load_image(DATA / "deepface_img49.jpg")
    assert image.shape[:2] == (2903, 4352)
    faces = analyze_frame(fer_engine, image, max_side=1280)
    assert len(faces) == 1
    x, y, w, h = faces.faces[0].box
    assert w > 1280 / 4  # a face that big only exists in original coordinates
    _check(faces, image)
    assert faces.size == (4352, 2903)


def test_deepface_engine_through_deepface_code(deepface_home):
    eng = engines.build("deepface")
    for name, count in (("pyfeat_single_face.jpg", 1), ("deepface_patreon_banner.png", 0)):
        image = load_image(DATA / name)
        faces = analyze_frame(eng, image)
        assert len(faces) == count
        _check(faces, image)
        assert faces.engine == "deepface"


def test_deepface_normalises_percentages(deepface_home, monkeypatch):
    eng = engines.build("deepface")
    fake = [{"region": {"x": 1, "y": 2, "w": 30, "h": 40}, "face_confidence": 0.9,
             "emotion": {"angry": 10.0, "disgust": 0.0, "fear": 0.0, "happy": 70.0, "sad": 0.0, "surprise": 0.0, "neutral": 20.0}},
            {"region": {"x": 0, "y": 0, "w": 99, "h": 99}, "face_confidence": 0,
             "emotion": {k: 100 / 7 for k in EMOTIONS}}]
    monkeypatch.setattr(eng._deepface, "analyze", lambda *a, **k: fake)
    faces = eng.analyze(np.zeros((100, 100, 3), np.uint8))
    assert len(faces) == 1  # face_confidence 0 = DeepFace's "no face" placeholder
    assert faces[0].box == (1, 2, 30, 40)
    assert faces[0].emotions["happy"] == pytest.approx(0.7)


def test_auto_uses_emocares_model_without_weights_and_never_probes_the_network(empty_deepface_home, monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("auto must not look anything up"))
    choice = engines.choose("auto")
    assert choice.name == "emocare" and choice.reason is None


def test_auto_prefers_deepface_with_weights(unmarked_deepface_home):
    assert engines.choose("auto").name == "emocare-deepface"


def test_explicit_deepface_without_weights_names_the_file(empty_deepface_home):
    with pytest.raises(ModelMissing) as err:
        engines.build("deepface")
    assert str(weights.emotion_weights_path()) in str(err.value)
    assert "emocare models import" in str(err.value)


def test_fer_mtcnn_without_facenet_is_a_clear_error():
    from emocare.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable, match="facenet-pytorch"):
        engines.build("fer", detector="mtcnn")


def test_models_import_copies_weights(random_deepface_home, empty_deepface_home):
    src = random_deepface_home / ".deepface" / "weights" / weights.EMOTION_WEIGHTS
    target = weights.import_weights(src)
    assert target == weights.emotion_weights_path() and target.read_bytes() == src.read_bytes()


def test_models_download_offline_says_what_to_do_instead(empty_deepface_home, monkeypatch):
    """Not "run 'emocare models download' when online": that is the command that just failed."""
    monkeypatch.setattr(weights, "EMOTION_URLS", ("http://127.0.0.1:9/facial_expression_model_weights.h5",))
    with pytest.raises(ModelMissing) as err:
        weights.download_weights()
    text = str(err.value)
    assert "try again when online" in text and "emocare models import FILE" in text and str(empty_deepface_home) in text
    assert "models download" not in text and "<urlopen error" not in text
    assert not list(weights.emotion_weights_path().parent.glob("*.part"))


def test_deepface_detector_that_needs_a_download_is_a_clear_error(deepface_home):
    from emocare.errors import EngineUnavailable

    with pytest.raises((EngineUnavailable, ModelMissing)) as err:
        engines.build("deepface", detector="retinaface")
    assert "retinaface" in str(err.value) or "weights" in str(err.value)
