"""bench: metrics against a hand computation, the JSON schema, an unavailable engine, emocare's own path's fidelity."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import DATA
from emocare.lab import bench
from emocare.cli import app
from emocare.faces import EMOTIONS

runner = CliRunner()
CROPS = DATA / "crops"


def test_calibration_error_equals_a_hand_computation():
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0],   # bin (0.867, 0.933]: confident and right
                      [0.9, 0.1, 0, 0, 0, 0, 0],   # same bin, wrong
                      [0.0, 0.6, 0.4, 0, 0, 0, 0]])  # bin (0.533, 0.6]: right
    truth = np.array([0, 1, 1])
    # bin 1: 2/3 of the faces, |0.5 - 0.9| = 0.4; bin 2: 1/3, |1.0 - 0.6| = 0.4
    assert bench.expected_calibration_error(probs, truth) == pytest.approx(2 / 3 * 0.4 + 1 / 3 * 0.4)
    m = bench.accuracy_metrics(["angry", "disgust", "disgust"], ["angry", "angry", "disgust"], list(probs))
    assert m["ece"] == pytest.approx(0.4)


def test_accuracy_metrics_equal_a_hand_computation():
    truth = ["happy", "happy", "sad", "sad", "angry", "neutral"]
    pred = ["happy", "sad", "sad", None, "angry", "happy"]
    m = bench.accuracy_metrics(truth, pred)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(3 / 6)
    # recalls: happy 1/2, sad 1/2, angry 1/1, neutral 0/1 -> mean 0.5
    assert m["per_class_recall"] == {"angry": 1.0, "happy": 0.5, "sad": 0.5, "neutral": 0.0}
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["no_face_rate"] == pytest.approx(1 / 6)
    c = np.array(m["confusion"])
    H, S, A, N = (EMOTIONS.index(e) for e in ("happy", "sad", "angry", "neutral"))
    assert c[H, H] == 1 and c[H, S] == 1 and c[S, S] == 1 and c[A, A] == 1 and c[N, H] == 1
    assert c.sum() == 5  # the no-face prediction is not in the matrix


def test_dataset_folders_csv_and_limit(tmp_path):
    items = bench.load_dataset(CROPS)
    assert len(items) == 14 and {label for _, label in items} == set(EMOTIONS)
    csv = tmp_path / "set.csv"
    csv.write_text("\n".join(f"{p},{label}" for p, label in items[:5]))
    assert bench.load_dataset(csv) == items[:5]
    assert bench.load_dataset(CROPS, limit=4, seed=1) == bench.load_dataset(CROPS, limit=4, seed=1)
    assert len(bench.load_dataset(CROPS, limit=4)) == 4


def test_bench_json_has_every_key_and_reports_unavailable_engines(tmp_path, empty_deepface_home):
    out = tmp_path / "b.json"
    png = tmp_path / "b.png"
    result = runner.invoke(app, ["bench", "--engines", "fer,emocare-fer,deepface", "--repeat", "1",
                                 "--dataset", str(CROPS), "--crops", "--json", str(out), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["machine"]) >= {"cpu", "cores", "python", "runtime", "versions"}
    assert data["machine"]["runtime"] in ("litert", "opencv")  # what ran the default engine's graphs
    deep = data["engines"]["deepface"]
    assert deep["available"] is False and "facial_expression_model_weights.h5" in deep["reason"]
    # said once, in one line, and no empty row for it in the tables
    assert [line for line in result.stderr.splitlines() if "DeepFace's weights" in line] == [
        "deepface: left out, they need DeepFace's weights ('emocare models download' online, or 'emocare models import FILE')"]
    assert "deepface" not in result.stdout.replace("emocare-", "") and "unavailable" not in result.stdout
    for name in ("fer", "emocare-fer"):
        e = data["engines"][name]
        assert e["available"] is True and e["reason"] is None
        assert set(e["speed"]) >= {"fps", "p50_ms", "p95_ms"}
        assert set(e) >= {"cold_start_s", "peak_rss_mb", "model_mb"}
        assert set(e["accuracy"]) == {"n", "accuracy", "balanced_accuracy", "per_class_recall", "confusion", "no_face_rate",
                                      "neutral_read_negative", "ece", "unreadable"}
        assert isinstance(e["accuracy"]["ece"], float)
        assert e["accuracy"]["n"] == 14
    # FER's own crops answer, recomputed here by hand from FER's library call
    from fer.fer import FER
    from emocare.sources import load_image

    fer = FER(offsets=(0, 0))
    hits = 0
    for path, label in bench.load_dataset(CROPS):
        img = load_image(path)
        r = fer.detect_emotions(img, face_rectangles=[(0, 0, img.shape[1], img.shape[0])])[0]["emotions"]
        hits += max(r, key=r.get) == label
    assert data["engines"]["fer"]["accuracy"]["accuracy"] == pytest.approx(hits / 14)
    assert data["agreement"]["fer"]["emocare-fer"] >= 0.95
    import cv2

    assert cv2.imread(str(png)) is not None


def test_lite_deepface_cnn_equals_keras(deepface_home):
    from emocare.engines import weights
    from emocare.engines._quiet import prepare_tensorflow_env
    from emocare.engines.classifiers import DeepFaceCNN

    prepare_tensorflow_env()
    from deepface.modules import modeling

    keras_model = modeling.build_model(task="facial_attribute", model_name="Emotion").model
    x = np.random.default_rng(3).random((6, 48, 48)).astype(np.float32)
    theirs = keras_model.predict(x[..., None], verbose=0)
    compiled = DeepFaceCNN(weights.emotion_weights_path())
    assert compiled.backend == "tflite"  # converted once, cached next to the weights
    assert list(weights.weights_dir().glob("*.tflite"))
    for ours in (compiled.predict(x), compiled.predict(x[:1]), compiled.predict_numpy(x)):
        assert np.abs(ours - theirs[: len(ours)]).max() < 1e-5
        assert (ours.argmax(1) == theirs[: len(ours)].argmax(1)).all()


def test_lite_fer_equals_fer_on_the_same_box():
    """Given FER's own box, emocare's own path's preprocessing + LiteRT call gives FER's answer."""
    import cv2
    from fer.fer import FER

    from emocare.engines.classifiers import FerTFLite

    img = cv2.imread(str(DATA / "pyfeat_multi_face.jpg"))
    fer = FER()
    theirs = fer.detect_emotions(img)
    clf = FerTFLite()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    batch = np.stack([clf.preprocess(gray, tuple(int(v) for v in r["box"])) for r in theirs])
    ours = clf.predict(batch)
    for r, p in zip(theirs, ours):
        assert np.allclose([r["emotions"][e] for e in EMOTIONS], p, atol=0.011)  # FER rounds to 2 decimals


def test_lite_engine_analyzes_photos_and_streams():

    from emocare.engines import analyze_frame, build
    from emocare.sources import iter_video, load_image

    eng = build("emocare-fer")
    faces = analyze_frame(eng, load_image(DATA / "pyfeat_multi_face.jpg"))
    assert len(faces) >= 4
    frames = list(iter_video(str(DATA / "pyfeat_single_face.mp4")))
    found = [analyze_frame(eng, f.image, stream=True) for f in frames]
    assert all(len(f) == 1 for f in found)
    assert eng.detections < len(frames) / 3  # detected on a few frames, tracked on the rest


def test_pipeline_bench_schema(deepface_home, tmp_path):
    out = tmp_path / "p.json"
    # with the libraries' own detector (Haar) emocare's own path must give the libraries' answers on every frame
    result = runner.invoke(app, ["bench", "--pipeline", "--repeat", "1", "--detector", "haar", "--json", str(out)])
    assert result.exit_code == 0, result.output
    p = json.loads(out.read_text())["pipeline"]
    for key in ("deepface_analyze", "fer_detect", "emocare_deepface", "emocare_fer", "emocare"):
        assert p[key]["fps"] > 0 and p[key]["p95_ms"] > 0
        assert p[key]["p50_ms"] <= p[key]["p95_ms"]
        assert p[key]["faces_found_rate"] == 1.0  # one man in every frame of the sample clip
    assert p["emocare_deepface"]["agreement_vs_deepface"] == 1.0
    assert p["emocare_fer"]["agreement_vs_fer"] == 1.0
    assert p["weights"].startswith("random") and p["detector"] == "haar"
    assert set(p["ratios"]) == {"C/A", "D/B", "C/B", "D/A", "E/A", "E/B"}
    fps = {k: p[key]["fps"] for k, key in zip("ABCDE", ("deepface_analyze", "fer_detect", "emocare_deepface",
                                                         "emocare_fer", "emocare"))}
    for ratio, value in p["ratios"].items():
        top, bottom = ratio.split("/")
        assert value == pytest.approx(fps[top] / fps[bottom])
    assert p["frames"] == len(bench.load_frames()[0]) and p["size"] == "640x360"


def test_time_loop_reports_the_median_run_and_the_first_runs_outputs():
    """The one timing helper: warm-up excluded, a fresh step per run, the run with the median median."""
    from emocare.timing import Speed, time_loop

    ticks = iter(range(10_000))
    made = []

    def make_step():
        made.append(len(made))
        run = len(made)
        return lambda frame, i: (run, i)

    best, outputs = time_loop(make_step, [None] * 4, repeat=3, warmup=2, clock=lambda: next(ticks) * 0.001)
    assert len(made) == 6  # a fresh step for each warm-up and each timed run
    assert outputs == [(2, 0), (2, 1), (2, 2), (2, 3)]  # the first timed run's answers
    assert best == pytest.approx([1.0] * 4)  # each step took one tick of 1 ms
    speed = Speed.of(best)
    assert speed.fps == pytest.approx(1000.0) and speed.p50_ms == pytest.approx(1.0) and speed.p95_ms == pytest.approx(1.0)


def test_pipeline_bench_without_weights_is_exit_5(empty_deepface_home):
    result = runner.invoke(app, ["bench", "--pipeline"])
    assert result.exit_code == 5


def test_bench_of_only_deepface_engines_without_weights_is_exit_5(empty_deepface_home):
    result = runner.invoke(app, ["bench", "--engines", "deepface,emocare-deepface"])
    assert result.exit_code == 5 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "emocare models download" in result.stderr


def test_footprint_counts_installed_files():
    assert bench.footprint_mb(["numpy"]) > 10
    assert bench.footprint_mb(["no-such-dist"]) == 0


def test_tables_and_plot_with_random_weights_and_no_accuracy(tmp_path):
    from emocare.lab import bench_report

    report = bench.BenchReport(machine={"cores": 2, "cpu": "x"}, source="clip.mp4")
    report.engines = {
        "deepface": {"available": True, "random_weights": True, "cold_start_s": 3.0,
                     "speed": {"fps": 10.0, "p50_ms": 90.0, "p95_ms": 100.0}},
        "fer": {"available": True, "cold_start_s": 2.0, "speed": {"fps": 40.0, "p50_ms": 20.0, "p95_ms": 25.0}},
        "deepface-onnx": {"available": False, "reason": "no onnx weights"},
    }
    assert len(bench_report.tables(report)) == 2  # speed; start-up, memory and size
    png = bench_report.plot(report, tmp_path / "p.png")
    import cv2

    assert cv2.imread(str(png)) is not None


def test_bench_on_photos_of_different_sizes(tmp_path):
    import shutil as sh

    for name in ("pyfeat_single_face.jpg", "deepface_img12.jpg", "pyfeat_multi_face.jpg"):
        sh.copy(DATA / name, tmp_path / name)
    out = tmp_path / "b.json"
    result = runner.invoke(app, ["bench", "--engines", "emocare-fer", "--images", str(tmp_path), "--repeat", "1",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["engines"]["emocare-fer"]["speed"]["frames"] == 3


def test_detector_bench_reports_every_emotion_and_keys_rows_by_path(tmp_path):
    """A 7 s session of small faces (80-120 px), one second per emotion (``make_sessions.py --kinds tour``), in two
    folders under one name: two rows, each with the found-rate per true emotion, and the worst emotion named."""
    import shutil

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for f in (DATA / "detector_session").iterdir():
            shutil.copy(f, tmp_path / folder / f.name)
    result = bench.run_detectors([tmp_path / "a", tmp_path / "b"], [DATA / "skimage_chelsea.jpg"], detectors=["blazeface"])
    assert sorted(result.face_videos) == [str(tmp_path / "a" / "tour.mp4"), str(tmp_path / "b" / "tour.mp4")]
    entry = result.face_videos[str(tmp_path / "a" / "tour.mp4")]["blazeface"]
    assert list(entry["by_emotion"]) == list(EMOTIONS) and all(t["frames"] == 15 for t in entry["by_emotion"].values())
    summary = result.summary["blazeface"]
    rates = summary["found_rate_by_emotion"]
    # its disgusted face is one the landmark model doubts in every frame: the one-look verifier found it in 0 of 15
    assert all(r >= 0.9 for r in rates.values()), rates
    assert summary["worst_emotion"] == min(rates, key=rates.get)
    assert summary["worst_emotion_found_rate"] == rates[summary["worst_emotion"]]
    assert summary["false_faces"] == 0
    # the truth gives each face's place: the boxes counted are at the face
    assert summary["videos_placed"] == 2 and entry["off_face"] == summary["off_face"] // 2


def test_detector_bench_counts_a_frame_only_when_a_box_is_at_the_face(tmp_path):
    """A box somewhere else than the face the truth file places is not that face: with every face's place moved
    across the frame, the same boxes find nothing, and each frame that had boxes is counted as off the face."""
    import csv
    import shutil

    shutil.copy(DATA / "detector_session" / "tour.mp4", tmp_path / "tour.mp4")
    rows = list(csv.DictReader(open(DATA / "detector_session" / "tour.truth.csv")))
    with open(tmp_path / "tour.truth.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:  # 300 px across (a 640 px frame; faces of 80-120 px): nowhere near the face
            x = int(r["x"])
            w.writerow({**r, "x": x + 300 if x < 300 else x - 300})
    placed = bench.run_detectors([DATA / "detector_session"], [], detectors=["blazeface"])
    moved = bench.run_detectors([tmp_path], [], detectors=["blazeface"])
    right = placed.face_videos[str(DATA / "detector_session" / "tour.mp4")]["blazeface"]
    wrong = moved.face_videos[str(tmp_path / "tour.mp4")]["blazeface"]
    assert right["found_rate"] > 0.9 and right["off_face"] <= 3, right
    assert wrong["found_rate"] == 0 and wrong["off_face"] >= 0.8 * right["frames"], wrong


def test_detector_bench_places_bad_value_is_one_line_naming_the_file(tmp_path):
    from emocare.errors import InputError
    from emocare.lab.bench_detectors import read_places

    (tmp_path / "s.truth.csv").write_text("frame,t,label,x,y,side,turn\n0,0.0,sad,10,20,0,0\n")
    with pytest.raises(InputError, match="s.truth.csv:2: .*side > 0"):
        read_places(tmp_path / "s.truth.csv")
    (tmp_path / "s.truth.csv").write_text("frame,t,label,x,y,side,turn\n0,0.0,sad,ten,20,100,0\n")
    with pytest.raises(InputError, match="s.truth.csv:2: .*not a number"):
        read_places(tmp_path / "s.truth.csv")
    (tmp_path / "s.truth.csv").write_text("frame,t,label,x,y,side,turn\n0,0.0,sad,1,2,30,0\n1,0.1,sad,1,,30,0\n")
    with pytest.raises(InputError, match="s.truth.csv:3: .*missing"):  # a row without its place
        read_places(tmp_path / "s.truth.csv")
    (tmp_path / "s.truth.csv").write_text("frame,t,label\n0,0.0,sad\n")
    assert read_places(tmp_path / "s.truth.csv") is None  # no place given: any box counts, as before
    assert read_places(tmp_path / "t.truth.csv") is None
