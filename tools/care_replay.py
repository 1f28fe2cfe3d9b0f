"""Care settings measured without re-running the model: watch each care session once with the engine, record
every frame's answer, then replay ``watch --fast`` on those answers under other care settings and score each as
``emocare bench --sessions`` does (the same pipeline, rolling window, carer and scoring; only the engine is a
recording).

    python tools/care_replay.py out/sessions-votes --record out/replay-gen8.pkl negative_threshold=0.6,0.5 persist_s=5,4

Each ``NAME=V1,V2`` is a setting (``emocare config`` lists them) and the values to try; every combination is
scored. ``temperature=T0/T`` style rescaling of the probabilities is ``rescale=K`` (log-probabilities times K:
above 1 sharper, below 1 softer), so a model's temperature can be tried without exporting it again. The
recording (``--record``) is reused when it exists: delete it after changing the model (``EMOCARE_MODEL``).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import pickle
import tempfile
from pathlib import Path

import numpy as np

from emocare import engines, watch
from emocare.engines.emocare_model import softmax
from emocare.lab.bench_sessions import read_truth, score, session_videos, summary, truth_path
from emocare.settings import load


class Recorder:
    """The real engine, remembering every answer in the order asked."""

    def __init__(self, inner):
        self.inner, self.answers = inner, []

    def analyze(self, image, **kw):
        found = self.inner.analyze(image, **kw)
        self.answers.append(tuple(found))
        return found

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Replay:
    """The recorded answers again, in order (``watch --fast`` asks for every frame in order), optionally rescaled."""

    detector_name, last_detect_ms, last_classify_ms = "replay", None, None

    def __init__(self, answers, name: str, rescale: float = 1.0, negative_threshold: float | None = None):
        self.answers, self.name, self.rescale, self.i = answers, name, rescale, 0
        self.negative_threshold = negative_threshold  # the model's own, for negative_threshold = "auto"

    def analyze(self, image, **kw):
        found = self.answers[self.i]
        self.i += 1
        if self.rescale == 1.0:
            return list(found)
        return [dataclasses.replace(f, scores=self._rescaled(f.scores)) for f in found]

    def _rescaled(self, scores):
        log_p = np.log(np.clip(np.asarray(scores, np.float64), 1e-12, 1.0))
        return softmax(log_p * self.rescale).astype(np.float32)

    def close(self) -> None:
        pass


def _watch(settings, video: Path, journal: Path, build):
    request = watch.WatchRequest(source=str(video), fast=True, show_window=False, journal=journal)
    return watch.run(settings, request, build_engine=build)


def record(videos, settings) -> dict[str, list]:
    answers = {}
    with tempfile.TemporaryDirectory(prefix="emocare-replay-") as tmp:
        for i, video in enumerate(videos):
            held = {}

            def build(s, held=held):
                held["engine"] = Recorder(engines.build_from_settings(s))
                return held["engine"]

            _watch(settings, video, Path(tmp) / f"{i}.jsonl", build)
            answers[str(video)] = held["engine"].answers
            print(f"recorded {video.name} ({i + 1}/{len(videos)})", flush=True)
    return answers


def grid(pairs: list[str], settings) -> list[dict]:
    axes = []
    for pair in pairs:
        name, _, values = pair.partition("=")
        if name != "rescale" and not hasattr(settings, name):
            raise SystemExit(f"{pair}: no setting {name!r} (emocare config lists them)")
        kind = float if name in ("rescale", "negative_threshold") else type(getattr(settings, name))
        axes.append([(name, kind(v)) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("items", nargs="+", help="session videos or folders (a truth.csv beside each), then NAME=V1,V2 ...")
    ap.add_argument("--record", type=Path, required=True, help="where the engine's answers are kept (reused)")
    args = ap.parse_intermixed_args(argv)
    pairs = [a for a in args.items if "=" in a]
    videos = session_videos([Path(a) for a in args.items if "=" not in a])
    base = dataclasses.replace(load()[0], audio="none", quiet=True)
    if args.record.is_file():
        answers = pickle.loads(args.record.read_bytes())
    else:
        answers = record(videos, base)
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_bytes(pickle.dumps(answers))
    engine = engines.choose(base.engine).name
    built = engines.build_from_settings(base)  # the model's own care threshold, for "auto"
    threshold = getattr(built, "negative_threshold", None)
    built.close()
    for combo in grid(pairs, base) or [{}]:
        rescale = combo.pop("rescale", 1.0)
        settings = dataclasses.replace(base, **combo)
        scores = []
        with tempfile.TemporaryDirectory(prefix="emocare-replay-") as tmp:
            for i, video in enumerate(videos):
                run = _watch(settings, video, Path(tmp) / f"{i}.jsonl",
                             lambda s, v=video: Replay(answers[str(v)], engine, rescale, threshold))
                scores.append(score(run.records, read_truth(truth_path(video)), settings, video.name, engine))
        s = summary(scores)
        said = ", ".join(f"{k}={v}" for k, v in {**combo, **({"rescale": rescale} if rescale != 1.0 else {})}.items())
        print(f"{said or 'as configured'}: comforted {s['comforted']}/{s['due']} when due, {s['wrong']} wrong, "
              f"{s['changes_per_min']:.1f} mood changes a minute, mood right {s['mood_right']:.1%}", flush=True)


if __name__ == "__main__":
    main()
