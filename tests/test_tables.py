"""Every table emocare prints is readable at 80 columns: nothing is cut with an ellipsis."""

from __future__ import annotations

import io
import json

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from conftest import DATA
from emocare.lab import bench, bench_report
from emocare.cli import app
from emocare.faces import EMOTIONS

LONG = "emocare-deepface"


def render(*tables) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=80, color_system=None, force_terminal=False)
    for t in tables:
        console.print(t)
    return buf.getvalue()


def _report() -> bench.BenchReport:
    acc = bench.accuracy_metrics(["happy", "sad", "neutral"], ["happy", "fear", "neutral"],
                                 [np.eye(7)[3] * 0.9 + 0.01, np.eye(7)[2] * 0.5 + 0.05, np.eye(7)[6] * 0.7 + 0.03])
    engines = {}
    for name in bench.ENGINES:
        engines[name] = {"available": True, "random_weights": "deepface" in name, "cold_start_s": 12.345,
                         "peak_rss_mb": 1234.0, "model_mb": 12.34, "deps_mb": 12345.0, "accuracy": acc,
                         "speed": {"fps": 1234.5, "p50_ms": 123.4, "p95_ms": 123.4, "detect_ms": 12.3, "classify_ms": 1.2},
                         "dominants": ["happy", "sad", None]}
    engines["deepface-onnx"] = {"available": False, "reason": "DeepFace's ONNX emotion weights are not at "
                                "/root/.deepface/weights/facial_expression_model_weights.onnx"}
    report = bench.BenchReport(machine={"cores": 2, "cpu": "Intel(R) Xeon(R) Processor"},
                               source="/a/long/path/to/emocare/data/sample.mp4", engines=engines,
                               dataset="../shared/data/fer2013/val", crops=True)
    names = [n for n in engines if engines[n].get("dominants")]
    report.agreement = {a: {b: 0.5 for b in names if b != a} for a in names}
    return report


def test_bench_tables_fit():
    text = render(*bench_report.tables(_report()))
    assert "…" not in text
    assert "12345" in text and "1234.5" in text and "66.7%" in text


def test_detector_and_pipeline_tables_fit():
    det = {"face_videos": {"sad_sustained_a_long_session_name.mp4": {d: {"frames": 390, "found_rate": 0.987}
                                                                      for d in bench.DETECTORS}},
           "no_face": {"deepface_patreon_banner.png": {d: {"frames": 1, "frames_with_faces": 0, "false_faces": 0}
                                                        for d in bench.DETECTORS}},
           "summary": {d: {"min_found_rate": 0.95, "mean_found_rate": 0.97, "false_faces": 0, "ms_per_frame": 3.21,
                           "p95_ms": 12.3} for d in bench.DETECTORS}}
    text = render(*bench_report.detector_tables(det))
    assert "…" not in text and "98.7%" in text
    loop = {"fps": 1234.5, "p50_ms": 12.3, "p95_ms": 12.3, "faces_found_rate": 0.98}
    pipe = {"deepface_analyze": loop, "fer_detect": loop, "emocare_deepface": {**loop, "agreement_vs_deepface": 0.95},
            "emocare_fer": {**loop, "agreement_vs_fer": 0.9}, "emocare": loop,
            "ratios": {"C/A": 29.0, "D/B": 10.1, "C/B": 7.4, "D/A": 40.0, "E/A": 30.0, "E/B": 8.0},
            "source": "/work/main/emocare/data/sample.mp4", "frames": 72, "size": "640x360", "detector": "blazeface",
            "weights": "random (built from DeepFace's architecture)"}
    text = render(bench_report.pipeline_table(pipe))
    assert "…" not in text and "1234.5" in text


def test_detector_rows_name_their_common_folder_once():
    """Sessions from one folder: the folder is named in the title and the rows hold the file names, which fit at 80
    columns unbroken; sessions from two folders keep their paths as given (two files of one name stay two rows)."""
    def entry(rate):
        return {d: {"frames": 90, "found_rate": rate} for d in bench.DETECTORS}

    summary = {d: {"min_found_rate": 0.9, "mean_found_rate": 0.95, "false_faces": 0, "ms_per_frame": 1.0, "p95_ms": 5.0}
               for d in bench.DETECTORS}
    one = {"face_videos": {"out/det26-480/small-angry00.mp4": entry(0.882), "out/det26-480/up-sad00.mp4": entry(1.0)},
           "no_face": {}, "summary": summary}
    text = render(*bench_report.detector_tables(one))
    assert "in out/det26-480/" in text and "small-angry00.mp4" in text and "out/det26-480/up-sad00" not in text
    two = {"face_videos": {"a/tour.mp4": entry(0.9), "b/tour.mp4": entry(1.0)}, "no_face": {}, "summary": summary}
    text = render(*bench_report.detector_tables(two))
    assert "a/tour.mp4" in text and "b/tour.mp4" in text and ", in " not in text
    same = {"face_videos": {"a/./x.mp4": entry(0.9), "a/x.mp4": entry(1.0)}, "no_face": {}, "summary": summary}
    text = render(*bench_report.detector_tables(same))
    assert "a/./x.mp4" in text and ", in " not in text  # one file given two ways stays two rows told apart
    marked = {"face_videos": {"out/[/x]/s.mp4": entry(0.9), "out/[/x]/t.mp4": entry(1.0)}, "no_face": {},
              "summary": summary}
    assert "in out/[/x]/" in render(*bench_report.detector_tables(marked))  # a folder's name is not Rich markup


def test_report_tables_fit(tmp_path):
    from emocare.report import summarize, tables

    records = [{"type": "start", "t": 0, "source": "/a/very/long/path/to/a/session/recording.mp4", "engine": LONG}]
    for t in range(30):
        for pid in (1, 2):
            records.append({"type": "mood", "t": float(t), "id": pid, "mood": EMOTIONS[(t + pid) % 7],
                            "valence": "neutral", "primary": pid == 1})
    records.append({"type": "care", "t": 12.3, "id": 1, "mood": "sad", "action": "message",
                    "message": "I'm here with you. It's okay to feel sad for a while; take the time you need."})
    records.append({"type": "end", "t": 30.0, "reason": "end of source", "summary": {}})
    text = render(*tables(summarize(records)))
    assert "…" not in text and "take the time you need" in text.replace("\n", " ").replace("│", " ").replace("  ", " ")


def test_command_tables_fit(tmp_path):
    runner = CliRunner()
    env = {"COLUMNS": "80"}
    for name in ("pyfeat_multi_face.jpg", "deepface_img12.jpg", "pyfeat_free-mountain-vector-01.jpg"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    for args in (["models"], ["analyze", "--jobs", "1", str(tmp_path)],
                 ["analyze", "--details", "--jobs", "1", str(tmp_path)], ["config"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        assert "…" not in result.stdout, (args, result.stdout)
    assert json.loads(runner.invoke(app, ["analyze", "--json", str(DATA / "deepface_img12.jpg")]).stdout)


def test_phrases_break_only_between_phrases_and_paths_only_after_a_slash():
    from rich.table import Table

    from emocare.tables import Fitted, Phrases, listed, path_phrases

    assert path_phrases("/work/a b/x.jpg") == [("/", "work/", "a b/", "x.jpg")]
    title = Phrases(["models: ", "in ", *path_phrases("/a/rather/long/folder/")])
    assert title.lines(80) == ["models: in /a/rather/long/folder/"]
    assert title.lines(25) == ["models: in", "/a/rather/long/folder/"]  # the path whole on its own line
    assert title.lines(12) == ["models: in", "/a/rather/", "long/folder/"]  # else broken only after a /
    assert listed(["happy 0.59", "sad 0.41"]) == ["happy 0.59, ", "sad 0.41"]
    table = Table()
    table.add_column("image")
    table.add_column("emotions")
    top = Phrases(listed(["happy 1.00", "neutral 0.00", "surprise 0.00"]))
    table.add_row(Phrases(path_phrases("edge_cases/pyfeat_BWPictureHuman_grayscale.jpg")), top)
    text = render(Fitted(table))
    lines = [" ".join(line.strip("│ ").split()) for line in text.splitlines()]
    assert any("pyfeat_BWPictureHuman_grayscale.jpg" in line for line in lines), text
    assert any("surprise 0.00" in line for line in lines), text
    for width, whole in ((60, ("edge_cases/", "pyfeat_BWPictureHuman_grayscale.jpg", "happy 1.00,", "neutral 0.00,",
                               "surprise 0.00")), (30, ())):
        buf = io.StringIO()
        Console(file=buf, width=width, color_system=None).print(Fitted(table))
        narrow = buf.getvalue()
        assert max(len(line) for line in narrow.splitlines()) <= width, narrow
        assert all(w in narrow for w in whole), narrow
        # too narrow for a phrase: it is folded, never cut short
        assert "pyfeat_BWPictureHuman_grayscale.jpg" in "".join(c[0] for c in _cells(narrow) if c), narrow


def _cells(text):
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


def test_common_folder_names_the_folder_once_or_keeps_paths_as_given():
    from emocare.tables import common_folder

    assert common_folder(["/p/a/x.jpg", "/p/b/x.jpg"]) == ("/p/", ["a/x.jpg", "b/x.jpg"])
    assert common_folder(["photos/a.jpg"]) == ("photos/", ["a.jpg"])
    assert common_folder(["tests/data/x.jpg", "/p/x.jpg"]) == ("", ["tests/data/x.jpg", "/p/x.jpg"])
    assert common_folder(["/a/x.jpg", "/b/x.jpg"]) == ("", ["/a/x.jpg", "/b/x.jpg"])
    assert common_folder(["x.jpg", "d/y.jpg"]) == ("", ["x.jpg", "d/y.jpg"])


def test_a_fitted_table_renders_at_each_width_anew():
    """Fitted set the columns' widths on the table it wraps and kept them: printed at 60 then at 120, the second
    print stayed 60 wide."""
    from rich.table import Table

    from emocare.tables import Fitted, Phrases, path_phrases

    t = Table()
    t.add_column("image")
    t.add_column("emotions")
    t.add_row(Phrases(path_phrases("/work/shared/data/photos/edge_cases/pyfeat_BWPictureHuman_grayscale.jpg")),
              "happy 1.00, sad 0.30, neutral 0.10")
    widths = {}
    for width in (60, 120, 60):
        buf = io.StringIO()
        Console(file=buf, width=width).print(Fitted(t))
        widths.setdefault(width, set()).add(max(len(line) for line in buf.getvalue().splitlines()))
    assert widths[60] == {60} and 100 < max(widths[120]) < 120  # at 120 the table takes its own width, under 120
    assert [c.width for c in t.columns] == [None, None]
