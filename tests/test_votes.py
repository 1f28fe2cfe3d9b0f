"""FER+ votes: the reader's rule, the scorer's figures, training on vote distributions, and the calm-face guard."""

import json
import math

import numpy as np
import pytest

from conftest import DATA
from emocare.errors import InputError
from emocare.faces import EMOTIONS
from emocare.lab.votes import NO_MAJORITY, distribution, majority, read_votes, vote_metrics

HEADER = "path,ferplus_name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
TRAIN, TRAIN_VOTES = DATA / "fer_train42", DATA / "ferplus_train42.csv"
VAL, VAL_VOTES = DATA / "fer_val210", DATA / "ferplus_val210.csv"
GUARD, GUARD_VOTES = DATA / "ferplus_guard", DATA / "ferplus_guard.csv"
# measured with the shipped model on tests/data/ferplus_guard (80 clearly neutral and 40 sad validation faces,
# none in fer_val210): a regression guard, not the benchmark (docs/model-card.md has the figures on all of val)
CALM_READ_NEGATIVE_CEILING = 0.20  # the shipped model (generation 8, trained on the votes) reads 10 of the 80 (12.5%)
# as negative; generation 4, trained on FER2013's folders, read 33 (41.3%)
SAD_READ_NEGATIVE_FLOOR = 0.72  # and 32 of the 40 sad ones (0.80) as negative (generation 4: 37 of 40)


def _write(tmp_path, body: str):
    path = tmp_path / "votes.csv"
    path.write_text(HEADER + body)
    return path


def test_the_rule_drops_unknown_and_not_a_face_sets_contempt_aside_and_keeps_ties(tmp_path):
    path = _write(tmp_path, "\n".join([
        "neutral/a.jpg,x,8,0,0,1,0,0,0,1,0,0",   # contempt's vote set aside: 8 neutral, 1 sad
        "sad/b.jpg,x,1,0,0,2,0,0,0,0,0,7",       # NF wins: not a face
        "sad/c.jpg,x,0,0,0,3,0,0,0,0,6,1",       # unknown wins
        "fear/d.jpg,x,0,0,0,0,0,0,4,0,4,2",      # unknown ties fear: kept
        "angry/e.jpg,x,0,0,0,0,0,0,0,10,0,0",    # only contempt: no emotion vote
        "",
    ]) + "\n")
    table = read_votes(path)
    assert sorted(table.counts) == ["fear/d.jpg", "neutral/a.jpg"]
    assert table.dropped == {"sad/b.jpg": "unknown or not a face", "sad/c.jpg": "unknown or not a face",
                             "angry/e.jpg": "no emotion vote"}
    a = table.counts["neutral/a.jpg"]
    assert a[EMOTIONS.index("neutral")] == 8 and a[EMOTIONS.index("sad")] == 1 and a.sum() == 9
    assert table.get(tmp_path / "neutral" / "a.jpg", tmp_path) is a
    assert table.get(tmp_path / "happy" / "z.jpg", tmp_path) is None  # no row: left out
    assert table.why_not(tmp_path / "happy" / "z.jpg", tmp_path) == "no votes row"
    assert np.allclose(distribution(a[None])[0][EMOTIONS.index("neutral")], 8 / 9)


@pytest.mark.parametrize("body, line", [
    ("neutral/a.jpg,x,8,0,0,1,0,0,0,1,0,0\nsad/b.jpg,x,1,0,zero,2,0,0,0,0,0,7\n", 3),
    ("neutral/a.jpg,x,8,0,0,1,0,0,0\n", 2),
    ("neutral/a.jpg,x,8,0,0,-1,0,0,0,1,0,0\n", 2),
])
def test_a_malformed_row_names_its_line(tmp_path, body, line):
    with pytest.raises(InputError, match=rf"votes\.csv:{line}: "):
        read_votes(_write(tmp_path, body))


def test_a_file_that_is_not_votes_is_one_clear_error(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("path,label\nsad/a.jpg,sad\n")
    with pytest.raises(InputError, match=r"labels\.csv:1: not a FER\+ votes header: missing anger, disgust"):
        read_votes(bad)
    with pytest.raises(InputError, match="cannot read the votes file"):
        read_votes(tmp_path / "missing.csv")


def test_majority_is_the_most_voted_emotion_and_a_tie_has_none():
    counts = np.zeros((3, 7))
    counts[0, EMOTIONS.index("sad")] = 6
    counts[0, EMOTIONS.index("neutral")] = 4
    counts[1, EMOTIONS.index("happy")] = 5
    counts[1, EMOTIONS.index("surprise")] = 5
    counts[2, EMOTIONS.index("angry")] = 1
    assert majority(counts).tolist() == [EMOTIONS.index("sad"), NO_MAJORITY, EMOTIONS.index("angry")]


def _counts(**votes):
    row = np.zeros(7)
    for label, n in votes.items():
        row[EMOTIONS.index(label)] = n
    return row


def _probs(label, p=0.8):
    row = np.full(7, (1 - p) / 6)
    row[EMOTIONS.index(label)] = p
    return row


def test_the_scorer_on_ten_faces_worked_by_hand():
    faces = [  # (votes, what the engine said)
        (_counts(neutral=10), _probs("neutral")),           # clearly neutral, read calm
        (_counts(neutral=8, sad=2), _probs("sad")),         # clearly neutral, read negative
        (_counts(neutral=7, happy=3), _probs("neutral")),   # clearly neutral (70%), read calm
        (_counts(neutral=6, sad=4), _probs("sad")),         # neutral majority, not clearly: wrong
        (_counts(sad=6, neutral=4), _probs("sad")),         # sad, read sad
        (_counts(sad=5, neutral=5), _probs("fear")),        # sad (50%), tie: no majority; read negative
        (_counts(sad=9, angry=1), _probs("neutral")),       # sad, read calm: missed
        (_counts(happy=10), _probs("happy")),
        (_counts(surprise=6, fear=4), _probs("fear")),      # wrong, but negative does not matter here
        (_counts(angry=5, disgust=3, sad=2), None),         # no face found: wrong
    ]
    counts = np.stack([c for c, _ in faces])
    probs = np.stack([p if p is not None else np.full(7, np.nan) for _, p in faces])
    m = vote_metrics(probs, counts)
    assert m["n"] == 10 and m["n_majority"] == 9
    assert m["majority_accuracy"] == pytest.approx(4 / 9)  # faces 1, 3, 5 and 8 of the nine with a majority
    assert m["n_clearly_neutral"] == 3 and m["clearly_neutral_read_negative"] == pytest.approx(1 / 3)
    assert m["n_sad"] == 3 and m["sad_read_negative"] == pytest.approx(2 / 3)
    # recall per majority class: neutral 2 of faces 1-4, sad 1 of faces 5 and 7; balanced is their mean
    assert m["recall"] == {"angry": 0.0, "happy": 1.0, "sad": 0.5, "surprise": 0.0, "neutral": 0.5}
    assert m["balanced_accuracy"] == pytest.approx(np.mean([0, 1, 0.5, 0, 0.5]))
    # cross-entropy against the vote distribution, a missing face scored as a uniform guess
    target = counts / counts.sum(axis=1, keepdims=True)
    p = np.where(np.isfinite(probs), probs, 1 / 7)
    assert m["cross_entropy"] == pytest.approx(float(-(target * np.log(p)).sum(axis=1).mean()))
    assert m["no_face_rate"] == pytest.approx(0.1)
    assert 0 <= m["ece"] <= 1


def test_loading_a_dataset_with_votes_gives_counts_majorities_and_the_folder_labels():
    from emocare.lab.train import load_dataset

    data = load_dataset(VAL, votes=VAL_VOTES)
    # FER+ has no row for one face of fer_val210, and two more are mostly "unknown" or "not a face"
    assert len(data.y) == 207 and data.left_out == {"no votes row": 1, "unknown or not a face": 2}
    assert data.votes.shape == (207, 7) and (data.votes.sum(axis=1) > 0).all()
    assert (data.y == data.votes.argmax(axis=1)).all()
    assert (data.folder != data.y).mean() > 0.2  # FER2013's labels disagree with the annotators often
    plain = load_dataset(VAL)
    assert plain.votes is None and plain.folder is None and len(plain.y) == 210


def test_soft_labels_are_the_vote_distribution_and_majority_labels_are_one_hot():
    from emocare.lab.train import _arrays, load_dataset

    data = load_dataset(TRAIN, votes=TRAIN_VOTES)
    _, soft, _ = _arrays(data, None, 0.0, "soft")
    assert np.allclose(soft, data.votes / data.votes.sum(axis=1, keepdims=True))
    _, hard, weights = _arrays(data.subset(data.scored()), None, 0.0, "majority")
    assert set(np.unique(hard)) == {0.0, 1.0} and (hard.sum(axis=1) == 1).all()
    _, _, flat = _arrays(data, None, 0.0, "soft", weighted=False)
    assert (flat == 1).all() and weights.std() > 0


def test_train_on_votes_end_to_end_and_its_description_scores_both_ways(tmp_path):
    """One short epoch of soft-label training on 42 crops with their votes, through the real CLI."""
    from typer.testing import CliRunner

    from emocare.cli import app

    out = tmp_path / "voted.tflite"
    result = CliRunner().invoke(app, ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--votes", str(TRAIN_VOTES),
                                      "--val-votes", str(VAL_VOTES), "--out", str(out), "--epochs", "1",
                                      "--batch-size", "16"])
    assert result.exit_code == 0, result.output
    assert "(most-voted emotions)" in result.output and "against the votes: majority accuracy" in result.output
    desc = json.loads(out.with_suffix(".json").read_text())
    assert desc["votes"]["labels"] == "soft" and desc["votes"]["train"] == str(TRAIN_VOTES)
    v = desc["val"]["votes"]
    assert v["n"] == 207 and 0 <= v["clearly_neutral_read_negative"] <= 1 and math.isfinite(v["cross_entropy"])
    assert "fer2013_labels" in desc["val"]  # FER2013's own labels, as a second line
    assert math.isfinite(desc["temperature"])
    run = json.loads((tmp_path / "voted.ckpt" / "run.json").read_text())
    assert run["votes"]["labels"] == "soft" and run["epochs"] == 1
    # a run (or one stopped early) exported on its own, its head chosen against the votes too
    again = tmp_path / "again.tflite"
    result = CliRunner().invoke(app, ["train", "--average", str(tmp_path / "voted.ckpt"), "--val", str(VAL),
                                      "--val-votes", str(VAL_VOTES), "--out", str(again)])
    assert result.exit_code == 0, result.output
    desc = json.loads(again.with_suffix(".json").read_text())
    assert desc["val"]["votes"]["n"] == 207 and desc["members"][0]["votes"]["labels"] == "soft"


def test_train_refuses_an_unknown_label_mode_and_a_missing_votes_file(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    args = ["train", "--dataset", str(TRAIN), "--val", str(VAL), "--out", str(tmp_path / "m.tflite")]
    result = CliRunner().invoke(app, [*args, "--votes", str(TRAIN_VOTES), "--labels", "fuzzy"])
    assert result.exit_code == 2 and "--labels fuzzy" in result.output
    result = CliRunner().invoke(app, [*args, "--votes", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "none.csv" in result.output and "Traceback" not in result.output


def test_the_shipped_model_reads_calm_faces_as_calm_and_still_sees_sadness():
    """The regression guard: clearly neutral faces read as negative, and sad ones as negative, by the shipped
    model on crops it never chose anything on."""
    import cv2

    from emocare import engines
    from emocare.lab.train import load_dataset

    data = load_dataset(GUARD, votes=GUARD_VOTES)
    engine = engines.build("emocare")
    probs = []
    for label in EMOTIONS:
        for path in sorted((GUARD / label).glob("*.jpg")):
            image = cv2.imread(str(path))
            probs.append(engine.classify(image, [(0, 0, image.shape[1], image.shape[0])])[0].scores)
    m = vote_metrics(np.stack(probs), data.votes)
    assert m["n_clearly_neutral"] == 80 and m["n_sad"] == 40
    assert m["clearly_neutral_read_negative"] <= CALM_READ_NEGATIVE_CEILING
    assert m["sad_read_negative"] >= SAD_READ_NEGATIVE_FLOOR


def test_bench_scores_engines_against_the_votes(tmp_path):
    from typer.testing import CliRunner

    from emocare.cli import app

    report = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--engines", "emocare", "--dataset", str(GUARD), "--crops", "--no-speed",
                                      "--votes", str(GUARD_VOTES), "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert "against the FER+ votes" in result.output
    data = json.loads(report.read_text())
    v = data["engines"]["emocare"]["accuracy"]["votes"]
    assert v["n"] == 120 and v["n_clearly_neutral"] == 80 and v["n_sad"] == 40
    assert data["votes"] == str(GUARD_VOTES)
    result = CliRunner().invoke(app, ["bench", "--engines", "emocare", "--votes", str(GUARD_VOTES)])
    assert result.exit_code == 2 and "--votes goes with --dataset" in result.output


def test_make_sessions_draws_faces_annotators_agree_on_and_holds_them(tmp_path):
    import csv
    import sys

    sys.path.insert(0, str(DATA.parent.parent / "tools"))
    import make_sessions

    faces = make_sessions.agreed_faces(GUARD, GUARD_VOTES, 0.7, ("neutral", "sad"))
    assert len(faces["neutral"]) == 80  # every clearly neutral face, whatever its FER2013 folder
    table = read_votes(GUARD_VOTES)
    assert all(distribution(table.get(p, GUARD)[None])[0][EMOTIONS.index("sad")] >= 0.7 for p in faces["sad"])
    rng = np.random.default_rng(0)
    path = tmp_path / "s.mp4"
    make_sessions.render(path, [("neutral", 2), ("sad", 4)], faces, rng, hold=3)
    rows = list(csv.DictReader(open(tmp_path / "s.truth.csv")))
    assert len(rows) == 6 * make_sessions.FPS and rows[-1]["label"] == "sad"
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 6 * make_sessions.FPS
    fps = make_sessions.FPS
    changes = [i for i in range(1, len(frames)) if np.abs(frames[i].astype(int) - frames[i - 1]).mean() > 3]
    assert changes == [2 * fps, 5 * fps]  # a new face when the sad part starts, then after 3 s held


def test_a_new_run_never_destroys_a_finished_one(tmp_path):
    """Issue #30 item 2: a run into a folder holding an earlier run is refused (exit 2) before reading any data,
    and the earlier run's files stay; --force keeps them in previous/."""
    from typer.testing import CliRunner

    from emocare.cli import app

    ckpt = tmp_path / "m.ckpt"
    ckpt.mkdir()
    for name, text in (("best.weights.h5", "network"), ("history.json", "[]"), ("run.json", "{}")):
        (ckpt / name).write_text(text)
    args = ["train", "--dataset", str(tmp_path / "typo"), "--val", str(VAL), "--out", str(tmp_path / "m.tflite")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and (ckpt / "best.weights.h5").read_text() == "network"
    (tmp_path / "typo").mkdir()  # an empty dataset: the run fails on its data, after the folder check
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "holds an earlier run" in result.output and "--force" in result.output
    assert (ckpt / "best.weights.h5").read_text() == "network"
    result = CliRunner().invoke(app, [*args, "--force"])
    assert result.exit_code == 1 and "Traceback" not in result.output  # no images in typo/
    assert (ckpt / "previous" / "best.weights.h5").read_text() == "network"


def test_train_into_an_unwritable_place_is_one_line_before_any_training(tmp_path):
    """--out where no file can go (its folder is a file: unwritable even for root) is refused before the data is
    read, not after the training."""
    from typer.testing import CliRunner

    from emocare.cli import app

    (tmp_path / "a-file").write_text("")
    result = CliRunner().invoke(app, ["train", "--dataset", str(TRAIN), "--val", str(VAL),
                                      "--out", str(tmp_path / "a-file" / "m.tflite"), "--epochs", "1"])
    assert result.exit_code == 1 and "cannot write there" in result.output
    assert "reading" not in result.output and "Traceback" not in result.output


def test_the_votes_temperature_stays_calibrated_on_the_majority():
    """fit_temperature_votes: between the temperature the majority asks for and the softer one the vote
    distributions ask for, the softest whose ECE against the majority is within the limit."""
    from emocare.lab.calibration import expected_calibration_error, fit_temperature, fit_temperature_votes
    from emocare.engines.emocare_model import softmax

    rng = np.random.default_rng(3)
    n = 2000
    y = rng.integers(0, 7, n)
    logits = rng.normal(0, 1, (n, 7))
    logits[np.arange(n), y] += 3.0  # confident and mostly right: the majority wants it sharp
    votes = np.full((n, 7), 0.5)
    votes[np.arange(n), y] += 4.0  # annotators split: the votes want it soft
    scored = np.ones(n, bool)
    t_major = fit_temperature(logits, y)
    shares = votes / votes.sum(axis=1, keepdims=True)
    t_votes = fit_temperature(logits, shares)
    assert t_votes > t_major * 1.2
    t = fit_temperature_votes(logits, shares, y, scored, limit=0.05)
    assert t_major <= t <= t_votes
    assert expected_calibration_error(softmax(logits / t), y) <= 0.05
    assert fit_temperature_votes(logits, shares, y, scored, limit=0.0) == pytest.approx(t_major)
    assert fit_temperature_votes(logits, shares, y, scored, limit=1.0) == pytest.approx(t_votes, rel=1e-6)
