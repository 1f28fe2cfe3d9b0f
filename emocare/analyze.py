"""``emocare analyze``: still images through the shared engine and overlay."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2

from emocare.engines import Engine, analyze_frame
from emocare.errors import InputError
from emocare.faces import Faces
from emocare.overlay import annotate
from emocare.sources import load_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageResult:
    source: str
    faces: Faces | None = None
    error: str | None = None
    annotated: Path | None = None

    def to_json(self) -> dict:
        if self.error is not None:
            return {"source": self.source, "error": self.error}
        assert self.faces is not None
        return {
            "source": self.source,
            "engine": self.faces.engine,
            "faces": [f.to_json() for f in self.faces],
            "ms": round(self.faces.ms, 3),
        }


def annotated_path(out_dir: Path, source: Path, index: int) -> Path:
    """Where the annotated copy of ``source`` goes (PNG, unique per input)."""
    return out_dir / f"{index:04d}_{source.stem}.png"


def analyze_one(engine: Engine, path: Path, *, max_side: int, annotate_dir: Path | None = None,
                index: int = 0, crops: bool = False) -> ImageResult:
    """One photo; ``crops``: the whole image is the face (a FER2013-style crop), no detection."""
    try:
        image = load_image(path)
    except InputError as exc:
        return ImageResult(source=str(path), error=str(exc))
    if crops and hasattr(engine, "classify"):
        h, w = image.shape[:2]
        started = time.perf_counter()
        found = tuple(engine.classify(image, [(0, 0, w, h)]))
        faces = Faces(faces=found, frame_index=index, t=0.0, engine=engine.name,
                      ms=(time.perf_counter() - started) * 1000.0, size=(w, h))
    else:
        faces = analyze_frame(engine, image, max_side=max_side, frame_index=index)
    written = None
    if annotate_dir is not None:
        written = annotated_path(annotate_dir, path, index)
        try:
            ok = cv2.imwrite(str(written), annotate(image, faces))
        except cv2.error:
            ok = False
        if not ok:
            return ImageResult(source=str(path), faces=faces, error=f"{written}: cannot write annotated image")
    return ImageResult(source=str(path), faces=faces, annotated=written)


def analyze_all(engine: Engine, paths: Iterable[Path], *, max_side: int, annotate_dir: Path | None = None,
                crops: bool = False, on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    """Every photo with one engine in this process, in order; ``on_result`` sees each as it is done."""
    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, path in enumerate(paths):
        result = analyze_one(engine, path, max_side=max_side, annotate_dir=annotate_dir, index=i, crops=crops)
        results.append(result)
        on_result(result)
    return results


# ---------------------------------------------------------------- several processes
_worker_engine: Engine | None = None  # one per worker process, built by its initializer


def one_core() -> None:
    """Keep this process on one core (LiteRT and OpenCV): with ``--jobs N`` the N processes are the parallelism."""
    import os

    os.environ["EMOCARE_THREADS"] = "1"
    cv2.setNumThreads(1)


def _init_worker(engine_name: str, detector: str) -> None:
    global _worker_engine
    one_core()
    from emocare.engines import build

    _worker_engine = build(engine_name, detector=detector)


def _work(job: tuple[int, str, int, str | None, bool]) -> ImageResult:
    index, path, max_side, annotate_dir, crops = job
    assert _worker_engine is not None
    return analyze_one(_worker_engine, Path(path), max_side=max_side, index=index, crops=crops,
                       annotate_dir=Path(annotate_dir) if annotate_dir else None)


def analyze_parallel(engine_name: str, detector: str, paths: Sequence[Path], *, jobs: int, max_side: int,
                     annotate_dir: Path | None = None, crops: bool = False,
                     on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    """The same as ``analyze_all`` on ``jobs`` worker processes (each builds its own engine); results in input order."""
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    work = [(i, str(p), max_side, str(annotate_dir) if annotate_dir else None, crops) for i, p in enumerate(paths)]
    results = []
    context = multiprocessing.get_context("spawn")  # no forked LiteRT/OpenCV threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(engine_name, detector)) as pool:
        for result in pool.map(_work, work, chunksize=max(1, min(8, len(work) // (jobs * 4) or 1))):
            results.append(result)
            on_result(result)
    return results


# ---------------------------------------------------------------- summary
@dataclass(frozen=True)
class Summary:
    images: int
    failed: int
    faces: int
    no_face: int
    emotions: dict[str, int]  # dominant emotion of each face
    wall_s: float
    jobs: int


def summarize_results(results: Sequence[ImageResult], wall_s: float, jobs: int) -> Summary:
    from emocare.faces import EMOTIONS

    counts = {e: 0 for e in EMOTIONS}
    faces = no_face = 0
    for r in results:
        if r.faces is None:
            continue
        faces += len(r.faces)
        no_face += not len(r.faces)
        for f in r.faces:
            counts[f.dominant] += 1
    return Summary(len(results), sum(r.error is not None for r in results), faces, no_face,
                   {e: n for e, n in counts.items() if n}, wall_s, jobs)


def summary_table(s: Summary):
    from rich.table import Table

    t = Table(title="summary", title_justify="left", show_header=False)
    t.add_column("what", overflow="fold")
    t.add_column("value", overflow="fold")
    rate = s.images / s.wall_s if s.wall_s > 0 else 0.0
    t.add_row("images", f"{s.images} ({s.failed} failed, {s.no_face} with no face)")
    t.add_row("faces", str(s.faces))
    t.add_row("emotions", ", ".join(f"{e} {n}" for e, n in sorted(s.emotions.items(), key=lambda kv: -kv[1])) or "-")
    t.add_row("time", f"{s.wall_s:.1f} s, {rate:.1f} images/s on {s.jobs} process{'es' if s.jobs > 1 else ''}")
    return t
