"""``emocare bench``: FER vs DeepFace (and emocare's fast path) on speed, accuracy, memory, size.

Each engine runs in a fresh worker process (``python -m emocare.lab.bench``), so
its cold start (import + model load), peak memory and library side effects
are its own. All engines see the same decoded frames. ``--pipeline`` instead
runs the four real-time loops of the fast-path comparison in this one process.
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from emocare.lab.calibration import expected_calibration_error
from emocare.engines import registry
from emocare.engines.registry import FAST_DETECTORS as DETECTORS  # one list, in the registry
from emocare.errors import EmocareError, InputError, ModelMissing
from emocare.exits import Exit
from emocare.faces import EMOTIONS
from emocare.lab.bench_sessions import media_files, read_truth, truth_path
from emocare.sources import IMAGE_EXTENSIONS as IMAGE_EXT
from emocare.sources import VIDEO_EXTENSIONS as VIDEO_EXT
from emocare.timing import Speed, percentile, time_loop

ENGINES = registry.names(choosable=False)  # the choosable engines and bench-only variants, in the registry's order

NEGATIVE = ("angry", "disgust", "fear", "sad")


def sample_video() -> Path:
    return Path(str(resources.files("emocare").joinpath("data/sample.mp4")))


# ------------------------------------------------------------------ inputs
def load_frames(video: Path | None = None, images: Path | None = None, limit: int | None = None) -> tuple[list[np.ndarray], str]:
    from emocare.sources import iter_video, load_image

    if images is not None:
        files = sorted(p for p in Path(images).rglob("*") if p.suffix.lower() in IMAGE_EXT)
        if not files:
            raise InputError(f"{images}: no images found")
        return [load_image(p) for p in files[:limit]], str(images)
    path = Path(video) if video is not None else sample_video()
    frames = [f.image for f in iter_video(str(path))]
    return frames[:limit] if limit else frames, str(path)


def load_dataset(path: Path, limit: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(image path, label) pairs from ``<label>/`` folders or a CSV of path,label (``datasets.labelled_images``)."""
    from emocare.lab.datasets import labelled_images

    items = [(str(f), label) for f, label in labelled_images(path)]
    if limit and limit < len(items):
        items = random.Random(seed).sample(items, limit)
    return items


def attach_votes(items: list[tuple[str, str]], votes: Path, dataset: Path) -> list[tuple[str, str, list | None]]:
    """Each (image, label) with its FER+ vote counts (``votes.read_votes``), or None where the file has no
    row for it or its rule leaves it out; an ``InputError`` when no image of ``dataset`` has votes."""
    from emocare.lab.datasets import dataset_root
    from emocare.lab.votes import read_votes

    table, root = read_votes(votes), dataset_root(dataset)
    out = []
    for path, label in items:
        c = table.get(path, root)
        out.append((path, label, None if c is None else [float(v) for v in c]))
    if not any(c is not None for _, _, c in out):
        raise InputError(f"{votes}: none of its rows names an image of {dataset} (paths are relative to {root})", str(votes))
    return out


# ------------------------------------------------------------------ metrics
def accuracy_metrics(truth: Sequence[str], predicted: Sequence[str | None],
                     scores: Sequence[Sequence[float] | None] | None = None) -> dict:
    """Accuracy, balanced accuracy, per-class recall, confusion (rows truth, columns predicted), no-face rate,
    neutral faces read as negative; with ``scores`` (7 probabilities per prediction) the calibration error.

    A missing prediction (``None``: no face found) counts as wrong.
    """
    n = len(truth)
    confusion = [[0] * len(EMOTIONS) for _ in EMOTIONS]
    correct = no_face = 0
    per_total = {e: 0 for e in EMOTIONS}
    per_hit = {e: 0 for e in EMOTIONS}
    for t, p in zip(truth, predicted):
        per_total[t] += 1
        if p is None:
            no_face += 1
            continue
        confusion[EMOTIONS.index(t)][EMOTIONS.index(p)] += 1
        if p == t:
            correct += 1
            per_hit[t] += 1
    recall = {e: per_hit[e] / per_total[e] for e in EMOTIONS if per_total[e]}
    neutral = confusion[EMOTIONS.index("neutral")]
    out = {
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "balanced_accuracy": float(np.mean(list(recall.values()))) if recall else 0.0,
        "per_class_recall": recall,
        "confusion": confusion,
        "no_face_rate": no_face / n if n else 0.0,
        # a care tool's false alarms: neutral faces whose top emotion is angry, disgust, fear or sad
        "neutral_read_negative": (sum(neutral[EMOTIONS.index(e)] for e in NEGATIVE) / sum(neutral)) if sum(neutral) else None,
        "ece": None,
    }
    if scores is not None:
        pairs = [(EMOTIONS.index(t), s) for t, s in zip(truth, scores) if s is not None]
        if pairs:
            out["ece"] = expected_calibration_error(np.array([s for _, s in pairs], float), np.array([t for t, _ in pairs]))
    return out


def dir_size_mb(paths: Sequence[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.is_file()) / 1e6


def footprint_mb(roots: Sequence[str]) -> float:
    """Installed size of ``roots`` and everything they require (their RECORDed files)."""
    import re

    seen: set[str] = set()
    total = 0
    todo = list(roots)
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            try:
                total += (Path(dist.locate_file(f))).stat().st_size
            except OSError:
                pass
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(req)
    return total / 1e6


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("emocare", "fer", "deepface", "tensorflow", "tf-keras", "opencv-python", "ai-edge-litert", "numpy", "onnxruntime"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


# ------------------------------------------------------------------ one engine, in a worker process
def needing_missing_weights(names: Sequence[str]) -> list[str]:
    """The engines among ``names`` that need DeepFace's emotion weights, when those are not on disk (none otherwise):
    ``run`` records them as not run without starting a worker for each, and the CLI says so once."""
    from emocare.engines import weights

    if weights.emotion_weights_present():
        return []
    return [n for n in names if registry.get(n).needs_deepface_weights]


def build_for_bench(spec: registry.EngineSpec, detector: str = "auto"):
    from emocare.engines import weights

    if spec.needs_deepface_weights and not weights.emotion_weights_present():
        raise ModelMissing(weights.missing_message())
    return spec.build(detector)


def run_worker(name: str, frames_path: str | None, dataset_path: str | None, crops: bool, repeat: int,
               spawned_at: float, stills: bool = False, detector: str = "auto") -> dict:
    """Everything measured for one engine, in this (fresh) process."""
    import resource

    out: dict = {"available": False, "reason": None}
    try:
        spec = registry.get(name)
        engine = build_for_bench(spec, detector)
        ready = time.time()
    except EmocareError as exc:
        out["reason"] = str(exc)
        return out
    out["available"] = True
    out["detector"] = engine.detector_name
    if spec.needs_deepface_weights and weights_random():
        out["random_weights"] = True  # speed is real, accuracy is not
    out["cold_start_s"] = ready - spawned_at  # process start + imports + model load
    out["model_mb"] = dir_size_mb(spec.model_paths())
    if frames_path:
        with np.load(frames_path) as archive:
            frames = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        # unrelated photos: nothing to track between them
        out.update(_speed(engine, frames, repeat, stream=spec.fast and not stills))
    if dataset_path:
        out["accuracy"] = _accuracy(engine, json.loads(Path(dataset_path).read_text()), crops)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _primary(faces):
    """The largest face: the one a photo or a frame is scored by."""
    return max(faces, key=lambda x: x.area, default=None)


def _dominant(faces) -> str | None:
    primary = _primary(faces)
    return primary.dominant if primary else None


def _speed(engine, frames: list[np.ndarray], repeat: int, stream: bool) -> dict:
    """Speed over ``frames`` (``timing.time_loop``), and the first run's dominant emotions and stage times."""
    from emocare.engines import analyze_frame
    from emocare.settings import DEFAULTS

    def make_step():
        engine.reset()

        def step(frame, i):
            faces = analyze_frame(engine, frame, max_side=DEFAULTS.max_side, stream=stream)
            return _dominant(faces), engine.last_detect_ms, engine.last_classify_ms
        return step

    best, outputs = time_loop(make_step, frames, repeat=repeat,
                              on_run=lambda r: _progress(f"{engine.name}: speed", r, repeat))
    speed = {**Speed.of(best).to_json(), "repeats": repeat, "frames": len(frames)}
    stages = [(d, c) for _, d, c in outputs if d is not None]
    if stages:
        speed["detect_ms"] = float(np.mean([d for d, _ in stages]))
        speed["classify_ms"] = float(np.mean([c for _, c in stages]))
    return {"speed": speed, "dominants": [dom for dom, _, _ in outputs]}


def _accuracy(engine, items: list[tuple[str, str]], crops: bool) -> dict:
    """Accuracy on labelled images; an unreadable file counts as a miss (no face) and is reported."""
    from emocare.engines import analyze_frame
    from emocare.settings import DEFAULTS
    from emocare.sources import load_image

    predicted, scores = [], []
    unreadable = 0
    for k, (path, *_) in enumerate(items):
        if k % 100 == 0:
            _progress(f"{engine.name}: accuracy", k, len(items))
        try:
            image = load_image(path)
        except InputError:
            unreadable += 1  # one bad file is not a broken engine
            predicted.append(None)
            scores.append(None)
            continue
        if crops:
            faces = engine.classify(image, [(0, 0, image.shape[1], image.shape[0])])
        else:
            faces = list(analyze_frame(engine, image, max_side=DEFAULTS.max_side))
        primary = _primary(faces)
        predicted.append(_dominant(faces))
        scores.append([float(v) for v in primary.scores] if primary else None)
    metrics = accuracy_metrics([item[1] for item in items], predicted, scores)
    metrics["unreadable"] = unreadable
    voted = [(s, item[2]) for s, item in zip(scores, items) if len(item) > 2 and item[2] is not None]
    if voted:
        from emocare.lab.votes import vote_metrics

        probs = np.array([s if s is not None else [np.nan] * len(EMOTIONS) for s, _ in voted], float)
        metrics["votes"] = vote_metrics(probs, np.array([c for _, c in voted], float))
    return metrics


@dataclass
class BenchReport:
    machine: dict
    source: str
    engines: dict[str, dict] = field(default_factory=dict)
    agreement: dict[str, dict[str, float | None]] = field(default_factory=dict)
    dataset: str | None = None
    crops: bool = False
    votes: str | None = None  # the FER+ votes file the dataset was also scored against
    pipeline: dict | None = None

    def to_json(self) -> dict:
        engines = {k: {kk: vv for kk, vv in v.items() if kk != "dominants"} for k, v in self.engines.items()}
        out = {"machine": self.machine, "source": self.source, "dataset": self.dataset, "crops": self.crops,
               "votes": self.votes, "engines": engines, "agreement": self.agreement}
        if self.pipeline is not None:
            out["pipeline"] = self.pipeline
        return out


@dataclass
class LoopResult:
    """One loop of ``bench --pipeline``."""

    fps: float
    p50_ms: float
    p95_ms: float
    faces_found_rate: float
    agreement: dict[str, float | None] = field(default_factory=dict)  # "agreement_vs_<engine>" -> share


@dataclass
class PipelineReport:
    loops: dict[str, LoopResult]  # by the registry's loop key, in letter order
    ratios: dict[str, float]  # "C/A": loop C's FPS over loop A's, ...
    source: str
    frames: int
    size: str
    detector: str
    weights: str  # "real" or "random (...)": DeepFace's weights the A and C loops ran

    def to_json(self) -> dict:
        loops = {k: {"fps": r.fps, "p50_ms": r.p50_ms, "p95_ms": r.p95_ms, "faces_found_rate": r.faces_found_rate,
                     **r.agreement} for k, r in self.loops.items()}
        return {**loops, "ratios": self.ratios, "source": self.source, "frames": self.frames, "size": self.size,
                "detector": self.detector, "weights": self.weights}

    @classmethod
    def from_json(cls, data: dict) -> "PipelineReport":
        keys = [spec.loop.key for spec in registry.loops()]
        loops = {}
        for key in keys:
            if key in data:
                r = data[key]
                loops[key] = LoopResult(r["fps"], r["p50_ms"], r["p95_ms"], r["faces_found_rate"],
                                        {k: v for k, v in r.items() if k.startswith("agreement_vs_")})
        return cls(loops, data["ratios"], data["source"], data["frames"], data["size"], data.get("detector", "?"),
                   data["weights"])


@dataclass
class DetectorReport:
    """``bench --faces-videos/--no-face``: per file and detector, then a summary per detector."""

    # video, as the path was given -> detector -> frames, found_rate, and by_emotion when a truth.csv is beside it
    face_videos: dict[str, dict[str, dict]] = field(default_factory=dict)
    no_face: dict[str, dict[str, dict]] = field(default_factory=dict)  # file -> detector -> frames, false faces
    summary: dict[str, dict] = field(default_factory=dict)  # detector -> found rates, false faces, ms

    def to_json(self) -> dict:
        return {"face_videos": self.face_videos, "no_face": self.no_face, "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict) -> "DetectorReport":
        return cls(data["face_videos"], data["no_face"], data["summary"])


def agreement(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return sum(x == y for x, y in both) / len(both) if both else None


def _progress(what: str, done: int, total: int) -> None:
    """A worker's progress line on stderr; the parent turns it into its progress bar."""
    sys.stderr.write(f"@progress {done} {total} {what}\n")
    sys.stderr.flush()


def run(engine_names: Sequence[str], *, video: Path | None = None, images: Path | None = None,
        dataset: Path | None = None, crops: bool = False, limit: int | None = None, seed: int = 0,
        votes: Path | None = None,
        repeat: int = 3, frame_limit: int | None = None, speed: bool = True, detector: str = "auto",
        on_engine: Callable[[str], None] = lambda name: None,
        on_progress: Callable[[str, int, int], None] = lambda what, done, total: None) -> BenchReport:
    frames, source = load_frames(video, images, frame_limit) if speed else ([], "")
    items = load_dataset(dataset, limit, seed) if dataset else None
    if items and votes is not None:
        items = attach_votes(items, votes, dataset)
    report = BenchReport(machine=machine_info(), source=source, dataset=str(dataset) if dataset else None, crops=crops,
                         votes=str(votes) if votes is not None else None)
    with tempfile.TemporaryDirectory(prefix="emocare-bench-") as tmp:
        frames_path = None
        if frames:
            frames_path = os.path.join(tmp, "frames.npz")  # one array per frame: photos may differ in size
            np.savez(frames_path, *frames)
        dataset_path = None
        if items:
            dataset_path = os.path.join(tmp, "dataset.json")
            Path(dataset_path).write_text(json.dumps(items))
        no_weights = set(needing_missing_weights(engine_names))
        for name in engine_names:
            if name in no_weights:
                from emocare.engines import weights

                report.engines[name] = {"available": False, "reason": weights.missing_message(),
                                        "needs_deepface_weights": True}
                continue
            on_engine(name)
            report.engines[name] = _spawn(name, frames_path, dataset_path, crops, repeat, stills=images is not None,
                                          detector=detector, on_progress=on_progress)
            if report.engines[name].get("available"):
                report.engines[name]["deps_mb"] = footprint_mb(registry.get(name).footprint)
    names = [n for n, r in report.engines.items() if r.get("dominants")]
    report.agreement = {a: {b: agreement(report.engines[a]["dominants"], report.engines[b]["dominants"])
                            for b in names if b != a} for a in names}
    return report


def _spawn(name: str, frames_path, dataset_path, crops: bool, repeat: int, stills: bool = False,
           detector: str = "auto", on_progress: Callable[[str, int, int], None] = lambda w, d, t: None) -> dict:
    cmd = [sys.executable, "-m", "emocare.lab.bench", name, "--repeat", str(repeat), "--t0", repr(time.time()),
           "--detector", detector]
    if frames_path:
        cmd += ["--frames", frames_path]
    if dataset_path:
        cmd += ["--dataset", dataset_path]
    if crops:
        cmd.append("--crops")
    if stills:
        cmd.append("--stills")
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        errors = []
        assert proc.stderr is not None
        for line in proc.stderr:  # progress lines as they come; anything else is kept for the failure reason
            if line.startswith("@progress "):
                done, total, what = line[10:].rstrip("\n").split(" ", 2)
                on_progress(what, int(done), int(total))
            elif line.strip():
                errors.append(line.strip())
        proc.wait(timeout=3600)
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (errors or ["no output"])[-1]
        return {"available": False, "reason": f"worker failed: {tail[:300]}"}
    return json.loads(lines[-1])


# ------------------------------------------------------------------ --detectors: found faces and false faces
def run_detectors(face_videos: Sequence[Path] = (), no_face: Sequence[Path] = (),
                  detectors: Sequence[str] = DETECTORS,
                  on_step: Callable[[str], None] = lambda name: None) -> DetectorReport:
    """Each detector as ``watch --fast`` runs it (flow between detections included) on:

    - videos where every frame holds a face: found-rate = frames with a face / frames; when ``NAME.truth.csv``
      (frame,t,label) is beside a video, also per true emotion (``by_emotion``: frames, found), and the summary
      pools every video's frames per emotion and names the worst one;
    - no-face media (videos, and images analysed as photos): false faces.
    Rows are keyed by the path as given (two ``a.mp4`` in two folders are two rows). ms per frame is the
    detection stage alone (detector + flow), not the classifier.
    """
    from emocare.engines.emocare_model import EmocareNet
    from emocare.engines.fast import FastEngine

    videos = media_files(face_videos, VIDEO_EXT)
    if face_videos and not videos:
        raise InputError(f"{', '.join(map(str, face_videos))}: no videos found")
    quiet_media = media_files(no_face, VIDEO_EXT + IMAGE_EXT)
    classifier = EmocareNet()
    result = DetectorReport()
    for det in detectors:
        engine = FastEngine(classifier, name=f"emocare/{det}", detector=det)
        ms: list[float] = []
        found_rates = []
        pooled: dict[str, list[int]] = {}  # emotion -> [frames, found] over every video with a truth file
        for v in videos:
            on_step(f"{det}: {v}")
            found: list[bool] = []
            n, with_face, _ = _scan_video(engine, v, ms, found)
            found_rates.append(with_face / n if n else 0.0)
            entry = {"frames": n, "found_rate": found_rates[-1]}
            by_emotion = _found_by_emotion(v, found)
            if by_emotion is not None:
                entry["by_emotion"] = by_emotion
                for label, tally in by_emotion.items():
                    total = pooled.setdefault(label, [0, 0])
                    total[0] += tally["frames"]
                    total[1] += tally["found"]
            result.face_videos.setdefault(str(v), {})[det] = entry
        false_total = 0
        for m in quiet_media:
            on_step(f"{det}: {m.name}")
            entry = _false_faces(engine, m, ms)
            false_total += entry["false_faces"]
            result.no_face.setdefault(str(m), {})[det] = entry
        by_emotion = {e: pooled[e][1] / pooled[e][0] for e in EMOTIONS if pooled.get(e, [0])[0]}
        worst = min(by_emotion, key=by_emotion.get) if by_emotion else None
        result.summary[det] = {
            "min_found_rate": min(found_rates) if found_rates else None,
            "mean_found_rate": float(np.mean(found_rates)) if found_rates else None,
            "found_rate_by_emotion": by_emotion,
            "worst_emotion": worst,
            "worst_emotion_found_rate": by_emotion[worst] if worst else None,
            "false_faces": false_total,
            "ms_per_frame": float(np.mean(ms)) if ms else None,
            "p95_ms": percentile(ms, 95) if ms else None,
        }
    return result


def _scan_video(engine, video: Path, ms: list[float], found: list[bool] | None = None) -> tuple[int, int, int]:
    """(frames, frames with a face, boxes) of ``video`` as a stream; each frame's detection ms appended to ``ms``
    and, when ``found`` is given, whether it had a face."""
    from emocare.sources import iter_video

    engine.reset()
    n = with_face = boxes = 0
    for frame in iter_video(str(video)):
        faces = engine.analyze(frame.image, stream=True)
        ms.append(engine.last_detect_ms)
        n += 1
        with_face += bool(faces)
        boxes += len(faces)
        if found is not None:
            found.append(bool(faces))
    return n, with_face, boxes


def _found_by_emotion(video: Path, found: Sequence[bool]) -> dict[str, dict[str, int]] | None:
    """Frames and frames with a face per true emotion, from ``NAME.truth.csv`` beside ``video`` (None without one;
    frames past the shorter of the two are not counted)."""

    if not truth_path(video).is_file():
        return None
    out: dict[str, dict[str, int]] = {}
    for (_, label), hit in zip(read_truth(truth_path(video)), found):
        tally = out.setdefault(label, {"frames": 0, "found": 0})
        tally["frames"] += 1
        tally["found"] += int(hit)
    return {e: out[e] for e in EMOTIONS if e in out}


def _false_faces(engine, media: Path, ms: list[float]) -> dict:
    """Faces found on a file that holds none: a video as a stream, an image as a photo."""
    from emocare.sources import load_image

    if media.suffix.lower() in VIDEO_EXT:
        n, with_face, boxes = _scan_video(engine, media, ms)
        return {"frames": n, "frames_with_faces": with_face, "false_faces": boxes}
    engine.reset()
    faces = engine.analyze(load_image(media), stream=False)
    return {"frames": 1, "frames_with_faces": int(bool(faces)), "false_faces": len(faces)}


# ------------------------------------------------------------------ --pipeline: the fast-path comparison
def run_pipeline(video: Path | None = None, frame_limit: int | None = None, repeat: int = 3,
                 detector: str = "auto", on_step: Callable[[str], None] = lambda name: None) -> PipelineReport:
    """The loops of ``registry.loops()``: A DeepFace.analyze, B FER.detect_emotions (the library calls
    themselves), C/D/E emocare's pipeline with DeepFace's/FER's/its own model.

    All on the same decoded frames, in this process; warm-up excluded; each
    loop repeated ``repeat`` times, the median run reported (``timing.time_loop``).
    """
    from emocare.engines import weights

    if not weights.emotion_weights_present():
        raise ModelMissing(weights.missing_message() + "; for a speed-only run, 'emocare models build-random' "
                           "writes random weights of DeepFace's architecture (into a DEEPFACE_HOME of their own)")
    frames, source = load_frames(video, None, frame_limit)
    specs = registry.loops()
    built = {spec.loop.letter: spec.build(detector) for spec in specs}
    loops: dict[str, LoopResult] = {}
    dominants: dict[str, list] = {}
    for spec in specs:
        on_step(spec.loop.key)
        best, dominants[spec.loop.letter] = time_loop(_loop_step(spec, built[spec.loop.letter]), frames, repeat=repeat)
        speed = Speed.of(best)
        found = sum(d is not None for d in dominants[spec.loop.letter]) / len(frames)
        loops[spec.loop.key] = LoopResult(speed.fps, speed.p50_ms, speed.p95_ms, found)
    by_letter = {spec.loop.letter: spec for spec in specs}
    for spec in specs:
        if spec.loop.versus:
            other = by_letter[spec.loop.versus]
            loops[spec.loop.key].agreement[f"agreement_vs_{other.name}"] = agreement(dominants[spec.loop.letter],
                                                                                      dominants[other.loop.letter])
    fps = {letter: loops[spec.loop.key].fps for letter, spec in by_letter.items()}
    ratios = {f"{x}/{y}": fps[x] / fps[y] for x, y in (("C", "A"), ("D", "B"), ("C", "B"), ("D", "A"), ("E", "A"), ("E", "B"))}
    h, w = frames[0].shape[:2]
    return PipelineReport(loops, ratios, source, len(frames), f"{w}x{h}", built["E"].detector_name,
                          "real" if _real_weights() else "random (built from DeepFace's architecture)")


def _loop_step(spec, engine):
    """A fresh step for loop ``spec``: the library call itself, or emocare's pipeline (a clean tracker)."""
    from emocare.pipeline import Pipeline
    from emocare.settings import DEFAULTS

    def make():
        if not spec.fast:
            return lambda f, i: _dominant(engine.analyze(f))
        engine.reset()
        pipe = Pipeline.from_settings(engine, DEFAULTS)
        return lambda f, i: _dominant(pipe.step(f, i, i / 30.0).faces)
    return make


def session_engines() -> list[str]:
    """``bench --sessions``' default: emocare's fast-path engines whose model is on disk (DeepFace's only with real
    weights: random ones would comfort at random)."""
    def usable(spec) -> bool:
        if spec.needs_deepface_weights:
            return _real_weights()
        try:
            return all(p.is_file() for p in spec.model_paths())
        except EmocareError:  # its package is not installed
            return False

    return [s.name for s in registry.ENGINES if s.fast and s.choosable and usable(s)]


def weights_random() -> bool:
    from emocare.engines import weights

    return weights.emotion_weights_present() and weights.is_random(weights.emotion_weights_path())


def _real_weights() -> bool:
    from emocare.engines import weights

    return weights.emotion_weights_present() and not weights.is_random(weights.emotion_weights_path())


def _main(argv: Sequence[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m emocare.lab.bench", description="one engine's bench worker")
    ap.add_argument("engine")
    ap.add_argument("--frames")
    ap.add_argument("--dataset")
    ap.add_argument("--crops", action="store_true")
    ap.add_argument("--stills", action="store_true", help="frames are unrelated photos, not a video")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--t0", type=float, default=time.time())
    ap.add_argument("--detector", default="auto")
    a = ap.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run_worker(a.engine, a.frames, a.dataset, a.crops, a.repeat, a.t0, a.stills, a.detector)
    sys.stdout.write(json.dumps(result) + "\n")
    return Exit.OK


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
