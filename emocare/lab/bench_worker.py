"""One engine measured in its own worker process (``python -m emocare.lab.bench ENGINE``, started by
``bench.run``): cold start, speed on the shared frames, accuracy on the labelled images, model size and peak
memory; and which engines can be built at all (DeepFace's emotion weights on disk, real or random).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocare.engines import registry
from emocare.errors import EmocareError, InputError, ModelMissing
from emocare.faces import EMOTIONS
from emocare.lab.bench_metrics import accuracy_metrics, dir_size_mb
from emocare.timing import Speed, time_loop


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
        out.update(_speed(engine, frames, repeat, stream=spec.lite and not stills))
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


def _progress(what: str, done: int, total: int) -> None:
    """A worker's progress line on stderr; the parent turns it into its progress bar."""
    sys.stderr.write(f"@progress {done} {total} {what}\n")
    sys.stderr.flush()


def session_engines() -> list[str]:
    """``bench --sessions``' default: emocare's own engines whose model is on disk (DeepFace's only with real
    weights: random ones would comfort at random)."""
    def usable(spec) -> bool:
        if spec.needs_deepface_weights:
            return _real_weights()
        try:
            return all(p.is_file() for p in spec.model_paths())
        except EmocareError:  # its package is not installed
            return False

    return [s.name for s in registry.ENGINES if s.lite and s.choosable and usable(s)]


def weights_random() -> bool:
    from emocare.engines import weights

    return weights.emotion_weights_present() and weights.is_random(weights.emotion_weights_path())


def _real_weights() -> bool:
    from emocare.engines import weights

    return weights.emotion_weights_present() and not weights.is_random(weights.emotion_weights_path())
