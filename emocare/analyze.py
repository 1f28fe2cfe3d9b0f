"""``emocare analyze``: still images through the shared engine and overlay."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2

from emocare.engines import Engine, analyze_frame
from emocare.errors import InputError
from emocare.faces import Faces
from emocare.names import make_folder
from emocare.overlay import annotate
from emocare.sources import load_image, shown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageResult:
    source: str
    faces: Faces | None = None
    error: str | None = None
    annotated: Path | None = None

    def to_json(self) -> dict:
        """Valid UTF-8 whatever the file's name (``sources.shown``)."""
        if self.error is not None:
            return {"source": shown(self.source), "error": shown(self.error)}
        assert self.faces is not None
        return {
            "source": shown(self.source),
            "engine": self.faces.engine,
            "faces": [f.to_json() for f in self.faces],
            "ms": round(self.faces.ms, 3),
        }


ANNOTATE_SUFFIXES = (".png", ".jpg", ".jpeg")  # ``--annotate photo.png``: one photo's copy, not a folder


def annotates_one_file(out: Path) -> bool:
    """``--annotate`` names one image file (``out.png``, ``out.jpg``), not a folder of copies."""
    return out.suffix.lower() in ANNOTATE_SUFFIXES and not out.is_dir()


def annotated_path(out: Path, source: Path, index: int) -> Path:
    """Where the annotated copy of ``source`` goes: ``out`` itself when it names one image file, else a PNG in the
    folder ``out``, unique per input."""
    return out if annotates_one_file(out) else out / f"{index:04d}_{source.stem}.png"


def _make_room(out: Path) -> None:
    """The folder the annotated copies go in (or the one image file's folder)."""
    make_folder(out.parent if annotates_one_file(out) else out)


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
        why = write_image(written, annotate(image, faces))
        if why is not None:
            return ImageResult(source=str(path), faces=faces, error=f"{shown(written)}: cannot write annotated image ({why})")
    return ImageResult(source=str(path), faces=faces, annotated=written)


def write_image(path: Path, image) -> str | None:
    """Write ``image`` at ``path`` (JPEG for .jpg/.jpeg, else PNG) whole or not at all (a temporary name, then
    renamed); why not, or None. Python writes the bytes, so a file name that is not UTF-8 works (OpenCV's imwrite
    crashes on one)."""
    fmt = ".jpg" if path.suffix.lower() in (".jpg", ".jpeg") else ".png"
    try:
        ok, data = cv2.imencode(fmt, image)
    except cv2.error as exc:
        return f"cannot encode: {exc}"
    if not ok:
        return "cannot encode"
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.tobytes())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return exc.strerror or str(exc)
    return None


def analyze_all(engine: Engine, paths: Iterable[Path], *, max_side: int, annotate_dir: Path | None = None,
                crops: bool = False, on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    """Every photo with one engine in this process, in order; ``on_result`` sees each as it is done."""
    if annotate_dir is not None:
        _make_room(annotate_dir)
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


def _worker(engine_name: str, detector: str, conn) -> None:
    """A worker process: builds its own engine (held here, not in a module global), says it is ready, then answers
    each job sent on ``conn`` (its own pipe, shared with no other process) until None or the pipe closes."""
    one_core()
    from emocare.engines import build
    from emocare.errors import EmocareError

    try:
        engine = build(engine_name, detector=detector)
    except EmocareError as exc:
        conn.send(exc)
        return
    try:
        conn.send(READY)
        while True:
            job = conn.recv()
            if job is None:
                break
            index, path, max_side, annotate_dir, crops = job
            conn.send((index, analyze_one(engine, Path(path), max_side=max_side, index=index, crops=crops,
                                          annotate_dir=Path(annotate_dir) if annotate_dir else None)))
    except (KeyboardInterrupt, EOFError, OSError):  # Ctrl-C where SIGINT cannot be blocked, or the parent is gone
        pass
    finally:
        engine.close()


READY = "ready"
LOST = "not analysed: the analysis process reading it ended (killed, or out of memory)"
IN_FLIGHT = 2  # jobs handed to a worker at a time: one in hand, one waiting, so no worker waits for the parent


def analyze_parallel(engine_name: str, detector: str, paths: Sequence[Path], *, jobs: int, max_side: int,
                     annotate_dir: Path | None = None, crops: bool = False,
                     on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    """The same as ``analyze_all`` on ``jobs`` worker processes (each builds its own engine); results in input order.

    Each worker has its own pipe and at most ``IN_FLIGHT`` jobs, so the parent always knows which image a worker
    holds: a worker that dies (killed, out of memory) loses only the image in its hands, whose result says so, and
    a new worker takes over the rest. No job waits in a pipe, so the parent ends at once on Ctrl-C or a closed
    stdout, however many images were left (a pre-filled ``multiprocessing.Queue`` made exit wait for its feeder
    thread, forever, once the workers were gone)."""
    import multiprocessing

    if annotate_dir is not None:
        _make_room(annotate_dir)
    context = multiprocessing.get_context("spawn")  # no forked LiteRT/OpenCV threads
    todo = [(i, str(p), max_side, str(annotate_dir) if annotate_dir else None, crops) for i, p in enumerate(paths)]
    pool = _Pool(context, engine_name, detector, jobs)
    done = False
    try:
        results = pool.run(todo, on_result)
        done = True
        return results
    finally:
        pool.close(graceful=done)


@dataclass
class _Held:
    """A worker process, its end of its pipe, whether its engine is built, and the jobs it holds (oldest: in hand)."""

    proc: object
    conn: object
    ready: bool = False
    jobs: list = field(default_factory=list)


def _received(conn) -> list:
    """Everything waiting on ``conn`` now; a pipe whose worker has gone ends the list."""
    items = []
    try:
        while conn.poll():
            items.append(conn.recv())
    except (EOFError, OSError):
        pass
    return items


class _Pool:
    """``analyze_parallel``'s workers: started, fed, replaced when one dies, ended."""

    def __init__(self, context, engine_name: str, detector: str, size: int):
        self.context, self.engine_name, self.detector, self.size = context, engine_name, detector, size
        self.respawns = size  # new workers allowed after losses, so one image that kills its worker ends nothing else
        self.workers: list[_Held] = []
        self.ever_ready = False

    def _start(self) -> None:
        here, there = self.context.Pipe(duplex=True)
        proc = self.context.Process(target=_worker, args=(self.engine_name, self.detector, there), daemon=True)
        self.workers.append(_Held(proc, here))
        with _ctrl_c_stays_here():
            proc.start()
        there.close()

    def _feed(self, todo: list) -> None:
        for w in self.workers:
            while w.ready and todo and len(w.jobs) < IN_FLIGHT:
                job = todo.pop()
                try:
                    w.conn.send(job)
                except OSError:  # it has just died: the job goes back, its death is seen next
                    todo.append(job)
                    break
                w.jobs.append(job)

    def run(self, todo: list, on_result: Callable[[ImageResult], None]) -> list[ImageResult]:
        from multiprocessing.connection import wait

        from emocare.errors import EmocareError

        count = len(todo)
        todo.reverse()  # popped from the end: input order
        pending: dict[int, ImageResult] = {}
        results: list[ImageResult] = []

        def settle(index: int, result: ImageResult) -> None:
            pending[index] = result
            while len(results) in pending:
                results.append(pending.pop(len(results)))
                on_result(results[-1])

        for _ in range(min(self.size, count)):
            self._start()
        while len(results) < count:
            self._feed(todo)
            ready = wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers], timeout=1.0)
            for w in list(self.workers):
                if w.conn not in ready and w.proc.sentinel not in ready:
                    continue
                for item in _received(w.conn):  # what it finished before it ended comes first
                    if isinstance(item, BaseException):  # its engine could not be built
                        raise item
                    if item == READY:
                        w.ready = self.ever_ready = True
                        continue
                    w.jobs = [j for j in w.jobs if j[0] != item[0]]
                    settle(*item)
                if w.proc.is_alive():
                    continue
                self.workers.remove(w)
                w.conn.close()
                if w.jobs:
                    lost = w.jobs.pop(0)
                    settle(lost[0], ImageResult(source=lost[1], error=f"{lost[1]}: {LOST}"))
                    todo.extend(reversed(w.jobs))  # handed to it but not begun: the others take them
                if todo and self.respawns > 0:
                    self.respawns -= 1
                    self._start()
            if not self.workers and len(results) < count:
                if not self.ever_ready:
                    raise EmocareError("the analysis processes ended before every image was done")
                while todo:  # every worker and every replacement died: the rest is named, not dropped
                    job = todo.pop()
                    settle(job[0], ImageResult(source=job[1], error=f"{job[1]}: {LOST}"))
        return results

    def close(self, graceful: bool) -> None:
        """Done: each worker is told to stop and closes its engine. Otherwise (Ctrl-C, a closed stdout, an error)
        they are ended now: nothing here waits on an image being analysed or on a pipe nobody reads."""
        if graceful:
            for w in self.workers:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            deadline = time.monotonic() + 5.0
            for w in self.workers:
                w.proc.join(max(0.0, deadline - time.monotonic()))
        for w in self.workers:
            if w.proc.pid is not None and w.proc.is_alive():
                w.proc.terminate()
        for w in self.workers:
            if w.proc.pid is not None:
                w.proc.join(1.0)
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join(1.0)
            w.conn.close()
        self.workers = []


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
    # The first spawn also starts multiprocessing's resource tracker, which unblocks SIGINT once it has: started
    # inside the block, it left the first worker open to Ctrl-C (seen in CI). Started here, it is already running.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


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
        name = engines.choose(settings.engine).name
        engines.announce_random_weights(name)  # once here, not once per worker
        results = analyze_parallel(name, settings.detector, files, jobs=count, **kw)
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
