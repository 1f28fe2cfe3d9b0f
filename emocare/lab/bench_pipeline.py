"""``emocare bench --pipeline``: the LiteRT-path comparison, the real-time loops of ``registry.loops()`` (the
libraries' own calls and emocare's pipeline with each model) on the same decoded frames, in this one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from emocare.engines import registry
from emocare.errors import ModelMissing
from emocare.lab.bench_inputs import load_frames
from emocare.lab.bench_metrics import agreement
from emocare.lab.bench_worker import _dominant, _real_weights
from emocare.timing import Speed, time_loop


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
        if not spec.lite:
            return lambda f, i: _dominant(engine.analyze(f))
        engine.reset()
        pipe = Pipeline.from_settings(engine, DEFAULTS)
        return lambda f, i: _dominant(pipe.step(f, i, i / 30.0).faces)
    return make
