"""``emocare analyze``: still images through the shared engine and overlay."""

from __future__ import annotations

import contextlib
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
    if crops:
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
def one_core() -> None:
    """Keep this process on one core (LiteRT and OpenCV): with ``--jobs N`` the N processes are the parallelism."""
    import os

    os.environ["EMOCARE_THREADS"] = "1"
    cv2.setNumThreads(1)


def _worker(engine_name: str, detector: str, jobs, results) -> None:
    """A worker process: builds its own engine (held here, not in a module global), then analyses jobs until None."""
    one_core()
    from emocare.engines import build
    from emocare.errors import EmocareError

    try:
        engine = build(engine_name, detector=detector)
    except EmocareError as exc:
        results.put(exc)
        return
    try:
        for index, path, max_side, annotate_dir, crops in iter(jobs.get, None):
            results.put((index, analyze_one(engine, Path(path), max_side=max_side, index=index, crops=crops,
                                            annotate_dir=Path(annotate_dir) if annotate_dir else None)))
    except KeyboardInterrupt:  # where SIGINT cannot be blocked (not POSIX): the parent reports it, once
        pass
    finally:
        engine.close()


def analyze_parallel(engine_name: str, detector: str, paths: Sequence[Path], *, jobs: int, max_side: int,
                     annotate_dir: Path | None = None, crops: bool = False,
                     on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    """The same as ``analyze_all`` on ``jobs`` worker processes (each builds its own engine); results in input order."""
    import multiprocessing

    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")  # no forked LiteRT/OpenCV threads
    todo, done = context.Queue(), context.Queue()
    for i, p in enumerate(paths):
        todo.put((i, str(p), max_side, str(annotate_dir) if annotate_dir else None, crops))
    for _ in range(jobs):
        todo.put(None)
    workers = [context.Process(target=_worker, args=(engine_name, detector, todo, done), daemon=True)
               for _ in range(jobs)]
    try:
        with _ctrl_c_stays_here():
            for w in workers:
                w.start()
        return _in_order(done, len(paths), workers, on_result)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
            if w.pid is not None:  # started
                w.join()


@contextlib.contextmanager
def _ctrl_c_stays_here():
    """Workers started inside begin with SIGINT blocked, so Ctrl-C (sent to the whole process group) stops only this
    process, which reports it once and ends them: a worker interrupted while Python or its imports start prints a
    traceback that no handler of its own can catch yet. A Ctrl-C pressed meanwhile reaches this process when the
    block ends."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: _worker's own handler is all there is
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _in_order(done, count: int, workers, on_result) -> list[ImageResult]:
    """Results as workers finish them, handed on in input order; a worker's start-up error is raised here."""
    import queue

    pending: dict[int, ImageResult] = {}
    results: list[ImageResult] = []
    while len(results) < count:
        try:
            item = done.get(timeout=1.0)
        except queue.Empty:
            if not any(w.is_alive() for w in workers):
                from emocare.errors import EmocareError

                raise EmocareError("the analysis processes ended before every image was done") from None
            continue
        if isinstance(item, BaseException):
            raise item
        pending[item[0]] = item[1]
        while len(results) in pending:
            results.append(pending.pop(len(results)))
            on_result(results[-1])
    return results


@dataclass(frozen=True)
class Batch:
    """What ``analyze_files`` did: a result per image (input order), the wall time, how many processes."""

    results: list[ImageResult]
    wall_s: float
    workers: int


def analyze_files(settings, files: Sequence[Path], *, jobs: int = 0, annotate_dir: Path | None = None,
                  crops: bool = False, on_result: Callable[[ImageResult], None] = lambda r: None,
                  clock: Callable[[], float] = time.perf_counter) -> Batch:
    """Every photo with the engine ``settings`` ask for: on ``workers(jobs, files)`` single-threaded processes, or
    here when that is one (a folder with ``--jobs 1`` then keeps to one core, as asked)."""
    from emocare import engines

    kw = dict(max_side=settings.max_side, annotate_dir=annotate_dir, crops=crops, on_result=on_result)
    count = workers(jobs, files)
    started = clock()
    if count > 1:
        results = analyze_parallel(engines.choose(settings.engine).name, settings.detector, files, jobs=count, **kw)
        return Batch(results, clock() - started, count)
    if len(files) > 1:
        one_core()
    engine = engines.build_from_settings(settings)
    try:
        results = analyze_all(engine, files, **kw)
    finally:
        engine.close()
    return Batch(results, clock() - started, count)


def workers(jobs: int, files: Sequence[Path]) -> int:
    """How many processes ``--jobs`` means for these files (0: one per core)."""
    import os

    return max(1, min(jobs or (os.cpu_count() or 1), len(files)))


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
