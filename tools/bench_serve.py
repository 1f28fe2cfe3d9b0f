"""Load benchmark of ``emocare serve``: analysis speed with and without browsers watching the live page.

One ``serve`` session (loopback only) watches a long video made from the shipped care sessions, played at
30 frames a second so the engine, not the video, sets the analysis rate. After a warm-up it measures the
analysis rate for ``--seconds`` with nobody watching, then for ``--seconds`` with ``--viewers`` viewers,
each reading the MJPEG video and the event stream as a browser does (in a separate process, as browsers
are). During the load one more viewer opens the video and never reads, and one opens it every few
seconds and leaves at once. It reports the analysis rate in both phases, the frames each viewer got per
second, the server's memory and thread count 10 s into the load and at its end, and the first load of the
live page and of a history of ``--days`` days of journals: in a fresh process with no cache (the server
just started, ``/history`` asked for at once), again, and from the summaries a first run left on disk.
``--history-only`` measures just those.

    .venv/bin/python tools/bench_serve.py --viewers 20 --seconds 60 --json out/bench-serve.json

Bounded: at most 50 viewers and 300 s a phase, on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / "tests" / "data" / "sessions"
BOUNDARY = b"--emocareframe"


# ------------------------------------------------------------------ the viewers (a separate process)
def viewer(port: int, seconds: float, result: dict, key: int) -> None:
    """One browser: the video and the event stream, read as they come; frames counted by their boundary."""
    frames, events = 0, 0

    def read_events() -> None:
        nonlocal events
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                events += data.count(b"\nevent: ")

    t = threading.Thread(target=read_events, daemon=True)
    t.start()
    tail = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /video.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                data = s.recv(262144)
            except socket.timeout:
                continue
            if not data:
                break
            block = tail + data
            frames += block.count(BOUNDARY)
            tail = block[-(len(BOUNDARY) - 1):]
        elapsed = time.monotonic() - started
    t.join(timeout=seconds + 5)
    result[key] = {"frames": frames, "fps": frames / elapsed if elapsed else 0.0, "events": events}


def run_viewers(port: int, count: int, seconds: float) -> None:
    result: dict = {}
    threads = [threading.Thread(target=viewer, args=(port, seconds, result, i), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 20)
    print(json.dumps([result.get(i, {"frames": 0, "fps": 0.0, "events": 0}) for i in range(count)]))


# ------------------------------------------------------------------ the history from a cold start (a separate process)
def history_client(month: Path) -> None:
    """A fresh process with an empty cache folder: the server starts (and begins reading the journals, as
    ``serve`` does), and ``/history`` is asked for at once; then again (in memory), then from a second server
    that finds the summaries on disk. Prints the figures as JSON."""
    import tempfile

    from emocare.web.server import Server, ServeOptions

    out: dict = {}
    with tempfile.TemporaryDirectory() as cache:
        for phase in ("cold", "disk cache"):
            started = time.perf_counter()
            with Server(ServeOptions(port=0, cache_dir=Path(cache)), lang="en", live=False, places=[month]) as server:
                cpu = time.process_time()
                out[phase + " ms"] = round(get_ms(server.port, "/history"), 1)
                if phase == "cold":
                    out["cold cpu s"] = round(time.process_time() - cpu, 3)
                    out["server start s"] = round(time.perf_counter() - started - out["cold ms"] / 1000, 3)
                    out["again ms"] = round(get_ms(server.port, "/history"), 1)
    print(json.dumps(out))


def cold_history(month: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--history-client", str(month)], capture_output=True, text=True,
                          timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ the server side
def long_video(path: Path, fps: float = 30.0, seconds: float = 150.0) -> Path:
    """The care sessions one after another, at ``fps``, until ``seconds`` long (made once, then reused)."""
    import cv2

    if path.exists():
        cap = cv2.VideoCapture(str(path))
        n, rate = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        if n >= fps * seconds and abs(rate - fps) < 0.01:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    clips = sorted(SESSIONS.glob("*.mp4"))
    writer, written = None, 0
    while written < fps * seconds:
        for clip in clips:
            cap = cv2.VideoCapture(str(clip))
            while written < fps * seconds:
                ok, frame = cap.read()
                if not ok:
                    break
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                writer.write(frame)
                written += 1
            cap.release()
    writer.release()
    return path


class Counter:
    """A sink of watch.run that counts analysed frames."""

    def __init__(self):
        self.frames = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def on_faces(self, faces) -> None:
        self.frames += 1

    def on_record(self, record) -> None:
        pass


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def get_ms(port: int, path: str) -> float:
    import http.client

    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status}")
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--engine", default=None, help="engine name (default: the settings' auto)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--viewer-client", nargs=3, metavar=("PORT", "COUNT", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument("--history-client", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--history-only", action="store_true", help="only the history's first loads (no video)")
    args = parser.parse_args()
    if args.history_client:
        history_client(args.history_client)
        return 0
    if args.viewer_client:
        port, count, seconds = args.viewer_client
        run_viewers(int(port), int(count), float(seconds))
        return 0
    if not (1 <= args.viewers <= 50 and 5 <= args.seconds <= 300 and 0 <= args.warmup <= 60):
        parser.error("--viewers 1..50, --seconds 5..300, --warmup 0..60")

    sys.path.insert(0, str(ROOT / "tools"))
    from make_journals import make as make_journals

    from emocare import watch
    from emocare.settings import load
    from emocare.web.server import ServeOptions, serve

    work = ROOT / "out" / "bench-serve"
    month = work / f"journals-{args.days}d"
    if not month.exists():
        make_journals(month, days=args.days)
    from emocare.web.history import History, Places

    cache = work / "history-cache"
    started = time.perf_counter()
    History(Places([month])).all()  # the month read from scratch, as the very first visit ever would
    cold_s = time.perf_counter() - started
    History(Places([month]), cache_dir=cache).all()  # and summarised on disk, as serve leaves it
    first = cold_history(month)
    if args.history_only:
        figures = {"days_of_journals": args.days, "history_read_from_scratch_s": round(cold_s, 2),
                   "history_first_load": first, "load_average": [round(x, 2) for x in os.getloadavg()]}
        print(json.dumps(figures, indent=2))
        return 0
    video = long_video(work / "long.mp4", seconds=args.warmup + 2 * args.seconds + 25)
    settings, _ = load(None, {"engine": args.engine, "quiet": True, "audio": "none"})
    settings = replace(settings, quiet=True, audio="none")
    request = watch.WatchRequest(source=str(video), show_window=False, journal=work / "bench.jsonl",
                                 snapshot_dir=work / "snapshots")
    counter, servers, stop = Counter(), [], threading.Event()
    thread = threading.Thread(target=serve, daemon=True, kwargs=dict(
        settings=settings, request=request, sinks=[counter], on_ready=servers.append, wait=stop.wait,
        options=ServeOptions(port=0, history=(month,), cache_dir=cache)))
    thread.start()
    while not servers:
        if not thread.is_alive():
            return 1
        time.sleep(0.05)
    server = servers[0]
    port = server.port
    figures: dict = {"viewers": args.viewers, "seconds": args.seconds, "days_of_journals": args.days}
    figures["first_load_ms"] = {"live page": round(get_ms(port, "/"), 1),
                                "history": round(get_ms(port, "/history"), 1)}
    figures["first_load_ms"]["history, again"] = round(get_ms(port, "/history"), 1)
    figures["history_read_from_scratch_s"] = round(cold_s, 2)
    figures["history_first_load"] = first  # a fresh process, no cache: /history at once, again, then from disk
    while counter.frames == 0 and thread.is_alive():  # the engine is loading
        time.sleep(0.1)
    time.sleep(args.warmup)

    def phase(seconds: float, during=None) -> tuple[float, list]:
        f0, t0, samples = counter.frames, time.monotonic(), []
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0)
            samples.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1), threading.active_count()))
            if during is not None:
                during(time.monotonic() - t0)
        return (counter.frames - f0) / (time.monotonic() - t0), samples

    figures["analysis_fps_no_viewers"] = round(phase(args.seconds)[0], 2)
    client = subprocess.Popen([sys.executable, __file__, "--viewer-client", str(port), str(args.viewers),
                               str(args.seconds)], stdout=subprocess.PIPE, text=True)
    stalled = socket.create_connection(("127.0.0.1", port))  # opens the video, never reads a byte
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /video.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    left = {"count": 0}

    def churn(elapsed: float) -> None:  # a viewer that comes and leaves at once, every 5 s
        if int(elapsed) % 5 == 0:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"GET /video.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                s.recv(1024)
            left["count"] += 1

    time.sleep(1.0)  # the viewers connect
    fps_load, samples = phase(args.seconds, churn)
    out, _ = client.communicate(timeout=args.seconds + 60)
    viewers = json.loads(out.strip().splitlines()[-1])
    stalled.close()
    figures["analysis_fps_with_viewers"] = round(fps_load, 2)
    figures["ratio"] = round(fps_load / figures["analysis_fps_no_viewers"], 3) if figures["analysis_fps_no_viewers"] else None
    rates = sorted(v["fps"] for v in viewers)
    figures["viewer_fps"] = {"min": round(rates[0], 2), "median": round(rates[len(rates) // 2], 2),
                             "max": round(rates[-1], 2)}
    figures["viewer_events_min"] = min(v["events"] for v in viewers)
    at10 = next(s for s in samples if s[0] >= 10)
    figures["rss_mb"] = {"at 10 s": at10[1], "end": samples[-1][1], "growth after 10 s": round(samples[-1][1] - at10[1], 1),
                         "every 10 s": [s[1] for s in samples if int(s[0]) % 10 == 0]}
    figures["threads"] = {"at 10 s": at10[2], "end": samples[-1][2]}
    figures["viewers_that_left"] = left["count"]
    figures["frames_encoded"] = server.hub.frames_encoded
    figures["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    stop.set()
    thread.join(timeout=args.warmup + 2 * args.seconds + 60)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
