"""A loopback MJPEG-over-HTTP server for fault tests: it streams, stalls, drops or talks nonsense.

Only ever binds 127.0.0.1; every connection is bounded in frames and time, and
``close()`` stops it. Modes:
- ``ok``: ``frames`` JPEG parts at ``fps``, then the connection ends normally;
- ``drop``: the first connection sends ``frames`` parts and is cut; every later one is refused;
- ``stall``: accepts, reads the request, never answers;
- ``stall_after``: the first connection sends ``frames`` parts, then keeps it open in silence;
  later connections are accepted and never answered;
- ``garbage``: an HTTP 200 with random bytes instead of a stream.
"""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np

BOUNDARY = b"emocareframe"


def jpeg(index: int) -> bytes:
    img = np.full((120, 160, 3), 90 + (index * 7) % 120, np.uint8)
    cv2.putText(img, str(index), (50, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


class MjpegServer:
    def __init__(self, mode: str, frames: int = 30, fps: float = 15.0, max_s: float = 30.0):
        self.mode = mode
        self.frames = frames
        self.fps = fps
        self.max_s = max_s
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/stream.mjpg"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def __enter__(self) -> "MjpegServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._accept.join(timeout=2)
        try:
            self._sock.close()
        except OSError:
            pass
        for t in self._threads:
            t.join(timeout=2)

    def _serve(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < self.max_s:
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            if self.mode == "drop" and self.connections > 1:
                conn.close()  # the camera is gone: every reconnect is refused at once
                continue
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        try:
            try:
                conn.recv(4096)  # the request; its content does not matter
            except socket.timeout:
                pass
            if self.mode == "stall" or (self.mode == "stall_after" and self.connections > 1):
                self._stop.wait(self.max_s)
                return
            if self.mode == "garbage":
                body = np.random.default_rng(0).integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes()
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + body)
                return
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" + BOUNDARY + b"\r\n\r\n")
            for i in range(self.frames):
                if self._stop.is_set():
                    return
                data = jpeg(i)
                conn.sendall(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                             + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                time.sleep(1.0 / self.fps)
            if self.mode == "stall_after":
                self._stop.wait(self.max_s)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
