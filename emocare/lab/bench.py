"""``emocare bench``: FER vs DeepFace (and emocare's own path) on speed, accuracy, memory, size.

Each engine runs in a fresh worker process (``python -m emocare.lab.bench``), so
its cold start (import + model load), peak memory and library side effects
are its own. All engines see the same decoded frames. ``--pipeline`` instead
runs the four real-time loops of the LiteRT-path comparison in this one process.

This module runs the engines (``run``) and holds the worker's command line; what it reads is in ``bench_inputs``,
what one worker measures in ``bench_worker``, the figures in ``bench_metrics``, ``--pipeline`` in ``bench_pipeline``
and ``--faces-videos/--no-face`` in ``bench_detectors``. Their public names are importable from here as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from emocare.engines import registry
from emocare.exits import Exit
from emocare.lab.bench_inputs import attach_votes, load_dataset, load_frames
from emocare.lab.bench_metrics import agreement, footprint_mb, machine_info
from emocare.lab.bench_worker import needing_missing_weights, run_worker

# Re-exported: ``from emocare.lab.bench import ...`` (and ``bench.X``) still finds the names that moved out
from emocare.engines.registry import LITE_DETECTORS as DETECTORS  # noqa: F401  (one list, in the registry)
from emocare.lab.bench_detectors import DetectorReport, run_detectors  # noqa: F401
from emocare.lab.bench_inputs import sample_video  # noqa: F401
from emocare.lab.bench_metrics import NEGATIVE, accuracy_metrics, dir_size_mb  # noqa: F401
from emocare.lab.bench_pipeline import LoopResult, PipelineReport, run_pipeline  # noqa: F401
from emocare.lab.bench_worker import build_for_bench, session_engines, weights_random  # noqa: F401
from emocare.lab.calibration import expected_calibration_error  # noqa: F401


ENGINES = registry.names(choosable=False)  # the choosable engines and bench-only variants, in the registry's order


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
