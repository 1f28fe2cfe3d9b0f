"""``LiveHub``: what ``watch.run`` tells ``emocare serve``'s live page, kept in slots that viewers read.

The session side (``watch.run``'s sink and ``live.Display``) writes: the newest frame (the video with its faces'
boxes, ``Renderer.video``, as one JPEG that every viewer is sent), the newest ``Faces``, the journal lines worth
showing (comfort, mood changes, snapshots), the comfort banner as the window shows it (its opacity from the
window's own ``BannerFade``: it fades once nobody in view is negative, and is withdrawn), the paused and muted
flags. The viewer side (the MJPEG and event streams, one waitress thread each) reads with a cursor and waits
on a condition. Nothing is queued per viewer: a viewer that reads slowly skips to the newest frame, one that
stops reading holds its own socket buffer and nothing else, and the session never waits for any of them.
Frames are drawn and encoded only while someone has asked for one in the last ``idle_s`` seconds, and at
most ``max_fps`` a second on average whatever the source's rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from emocare.faces import EMOTIONS, Faces
from emocare.names import redact
from emocare.records import Record
from emocare.web.comfort import Counterparts

COMMANDS = ("pause", "mute", "snapshot")  # what the page may ask; the window's quit and help stay with the window
SHOWN_RECORDS = ("start", "care", "change", "snapshot", "error", "end")  # journal lines the page lists


class Busy(Exception):
    """Every stream slot is taken (``max_streams``)."""


@dataclass
class Cursor:
    """Where one event-stream viewer is: the last event, faces and state it was sent."""

    event: int = 0
    faces: int = 0
    state: int = 0
    moods_sent_at: float = float("-inf")


def faces_json(faces: Faces) -> list[dict]:
    """Each confirmed person: steady mood (or None while it forms), its seven smoothed scores, the raw leader."""
    people = []
    for face in faces:
        if face.track_id is None:
            continue
        mood = face.mood
        scores = mood.scores if mood is not None else face.scores
        people.append({
            "id": int(face.track_id),
            "primary": face.track_id == faces.primary,
            "mood": mood.label if mood is not None else None,
            "confidence": round(float(mood.confidence), 4) if mood is not None else None,
            "valence": mood.valence if mood is not None else None,
            "negative_for_s": round(float(mood.negative_for_s), 1) if mood is not None else 0.0,
            "since_s": round(max(0.0, faces.t - mood.since), 1) if mood is not None else 0.0,
            "scores": {label: round(float(p), 4) for label, p in zip(EMOTIONS, scores)},
            "raw": face.dominant,
        })
    people.sort(key=lambda p: (not p["primary"], p["id"]))
    return people


class LiveHub:
    """The sink and display ``emocare serve`` hands ``watch.run``; the page's streams read it."""

    def __init__(self, *, max_streams: int = 48, jpeg_quality: int = 80, max_width: int = 960, max_fps: float = 20.0,
                 idle_s: float = 3.0, recent: int = 50, moods_period_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic, counterparts: Counterparts | None = None):
        self.max_streams = max_streams
        self.max_fps = max_fps
        self.jpeg_quality = jpeg_quality
        self.max_width = max_width
        self.idle_s = idle_s
        self.moods_period_s = moods_period_s
        self.clock = clock
        # a comfort's words in each page language (``messages``), so a page in the other language than the
        # session's says the same comfort in its own words
        self.counterparts = counterparts or Counterparts()
        self._lock = threading.Lock()
        self._frames = threading.Condition(self._lock)  # a new frame, or closing
        self._changes = threading.Condition(self._lock)  # a new event, state, or (throttled) faces
        self._jpeg: bytes | None = None
        self._frame_seq = 0
        self._faces: Faces | None = None
        self._faces_seq = 0
        self._faces_cache: tuple[int, dict] | None = None
        self._faces_notified = float("-inf")
        self._ticks: deque[float] = deque(maxlen=32)  # analysis times, for its rate
        self._events: deque[tuple[int, dict]] = deque(maxlen=recent)
        self._event_seq = 0
        # banner: {"message", "t", "opacity", "messages"} while the comfort banner shows (opacity in tenths), else None
        self._state = {"paused": False, "muted": False, "running": False, "ended": None, "source": None,
                       "banner": None}
        self._state_seq = 1
        self._pending: list[str] = []
        self._viewer_t = float("-inf")
        self._due_t = float("-inf")  # when the next frame is due: max_fps a second on average
        self._banner: str | None = None
        self._streams = 0
        self.closed = False
        self.frames_encoded = 0

    # ------------------------------------------------------------------ the session's side (watch.run's sink)
    def __enter__(self) -> "LiveHub":
        with self._lock:
            self._state.update(running=True, ended=None)
            self._bump_state()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._state.update(running=False, ended=self._state["ended"] or "stopped")
            self._bump_state()
            self._frames.notify_all()

    def watching(self, source: str | None) -> None:
        """What the session watches, as the journal's start line labels it (a URL's password hidden): ``serve``
        says so before ``watch.run``, so the page names the source while the engine loads; the start line, which
        the hub also receives, says the same once the session begins."""
        with self._lock:
            self._state["source"] = redact(source) if source is not None else None
            self._bump_state()

    def on_faces(self, faces: Faces) -> None:
        now = self.clock()
        with self._lock:
            self._faces = faces
            self._faces_seq += 1
            self._ticks.append(now)
            if now - self._faces_notified >= self.moods_period_s:
                self._faces_notified = now
                self._changes.notify_all()

    def on_record(self, record: Record) -> None:
        kind = record.type
        if kind not in SHOWN_RECORDS:
            return
        data = record.to_json()  # the page's event: the line's JSON, these keys only
        event = {key: data[key] for key in ("type", "t", "id", "mood", "from", "to", "action", "message", "lang",
                                            "note", "speech", "reason", "source", "engine", "path")
                 if key in data}
        if kind == "snapshot":
            event["path"] = str(event.get("path", ""))
        if kind == "care" and isinstance(data.get("message"), str):
            event["messages"] = self.counterparts.words(data["message"], data.get("lang"), data.get("mood"))
        with self._lock:
            if kind == "start":
                if data.get("source") is not None:
                    self._state["source"] = event["source"] = redact(str(data["source"]))
                self._bump_state()
            elif kind == "end":
                self._state["ended"] = data.get("reason") or "stopped"
                self._bump_state()
            self._add_event(event)

    # ------------------------------------------------------------------ the session's side (live.Display)
    @property
    def wants_frames(self) -> bool:
        """A command waits, or someone looked in the last ``idle_s`` and a frame is due: ``max_fps`` a second on
        average (a 30 fps source gives 20 by taking two frames of three, not 15 by taking every other)."""
        with self._lock:
            if self._pending:
                return True
            now = self.clock()
            return now - self._viewer_t < self.idle_s and now >= self._due_t - 0.05 / self.max_fps

    def show(self, image: np.ndarray, t: float, banner: tuple[str, str] | None, opacity: float = 1.0) -> None:
        import cv2

        text = banner[0] if banner else None
        level = round(min(1.0, max(0.0, opacity)), 1)  # in tenths: a fade is a few state events, not one a frame
        with self._lock:
            if text is not None and text != self._banner:
                words = self.counterparts.words(text)
                self._add_event({"type": "comfort", "t": round(float(t), 3), "message": text, "english": banner[1],
                                 "messages": words})
                self._state["banner"] = {"message": text, "t": round(float(t), 3), "opacity": level, "messages": words}
                self._bump_state()
            elif text is None and self._state["banner"] is not None:  # withdrawn
                self._state["banner"] = None
                self._bump_state()
            elif text is not None and self._state["banner"]["opacity"] != level:  # fading, or back
                self._state["banner"]["opacity"] = level
                self._bump_state()
            self._banner = text
            if self.clock() - self._viewer_t >= self.idle_s:
                return  # nobody is looking: no encoding
            period, now = 1.0 / self.max_fps, self.clock()
            self._due_t = max(self._due_t + period, now + period / 2)  # never two frames closer than half a period
        h, w = image.shape[:2]
        if w > self.max_width:
            image = cv2.resize(image, (self.max_width, round(h * self.max_width / w)), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            return
        jpeg = data.tobytes()
        with self._lock:
            self._jpeg = jpeg
            self._frame_seq += 1
            self.frames_encoded += 1
            self._frames.notify_all()

    def commands(self) -> list[str]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def state(self, *, paused: bool, muted: bool) -> None:
        with self._lock:
            self._state.update(paused=paused, muted=muted)
            self._bump_state()

    # ------------------------------------------------------------------ the viewers' side
    @property
    def ended(self) -> str | None:
        """Why the session ended (its end line's reason), or None while it runs or has not started."""
        with self._lock:
            return None if self._state["running"] else self._state["ended"]

    def request(self, command: str) -> None:
        """Queue ``command`` for the session's next frame (each at most once: a double click is one command)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r} (use {', '.join(COMMANDS)})")
        with self._lock:
            if command not in self._pending:
                self._pending.append(command)

    def acquire(self) -> None:
        """Take one stream slot for as long as a viewer's response runs (``release`` when it ends); ``Busy``
        when all ``max_streams`` are taken, so the server's threads are never all held by streams."""
        with self._lock:
            if self._streams >= self.max_streams:
                raise Busy(f"{self.max_streams} streams are open already")
            self._streams += 1

    def release(self) -> None:
        with self._lock:
            self._streams -= 1

    @property
    def streams(self) -> int:
        with self._lock:
            return self._streams

    def next_frame(self, after: int, timeout: float) -> tuple[int, bytes] | None:
        """The newest frame once it is newer than ``after`` (None after ``timeout`` or on close). A viewer
        that was slow gets the newest frame, never a backlog."""
        deadline = self.clock() + timeout
        with self._lock:
            self._viewer_t = self.clock()
            while self._frame_seq <= after and not self.closed:
                left = deadline - self.clock()
                if left <= 0 or not self._frames.wait(left):
                    break
            self._viewer_t = self.clock()
            if self._frame_seq > after and self._jpeg is not None:
                return self._frame_seq, self._jpeg
        return None

    def latest_frame(self) -> bytes | None:
        with self._lock:
            self._viewer_t = self.clock()
            return self._jpeg

    def updates(self, cursor: Cursor, timeout: float) -> list[tuple[str, dict]]:
        """What is new for ``cursor`` (advanced): ``("event", …)`` per journal line or comfort, ``("state", …)``,
        ``("moods", …)`` at most every ``moods_period_s``; waits up to ``timeout`` for something."""
        deadline = self.clock() + timeout
        with self._lock:
            while not self.closed:
                out = self._news(cursor)
                if out:
                    return out
                left = deadline - self.clock()
                if left <= 0:
                    return []
                self._changes.wait(min(left, self.moods_period_s))
            return self._news(cursor)

    def snapshot(self) -> tuple[dict, Cursor]:
        """Everything at once (the first message of each event stream, and ``/api/state``), and a cursor just
        past it."""
        with self._lock:
            data = {"state": self._state_copy(), "moods": self._moods(), "events": [e for _, e in self._events]}
            return data, Cursor(event=self._event_seq, faces=self._faces_seq, state=self._state_seq,
                                moods_sent_at=self.clock())

    def close(self) -> None:
        """Ends every stream (the server is stopping)."""
        with self._lock:
            self.closed = True
            self._frames.notify_all()
            self._changes.notify_all()

    # ------------------------------------------------------------------ under the lock
    def _add_event(self, event: dict) -> None:
        self._event_seq += 1
        self._events.append((self._event_seq, event))
        self._changes.notify_all()

    def _state_copy(self) -> dict:
        state = dict(self._state)
        if state["banner"] is not None:
            state["banner"] = dict(state["banner"])
        return state

    def _bump_state(self) -> None:
        self._state_seq += 1
        self._changes.notify_all()

    def _moods(self) -> dict:
        if self._faces is None:
            return {"t": None, "fps": 0.0, "people": []}
        if self._faces_cache is None or self._faces_cache[0] != self._faces_seq:  # once per Faces, whoever asks
            ticks = self._ticks
            fps = (len(ticks) - 1) / (ticks[-1] - ticks[0]) if len(ticks) > 1 and ticks[-1] > ticks[0] else 0.0
            self._faces_cache = (self._faces_seq, {"t": round(float(self._faces.t), 2), "fps": round(fps, 1),
                                                   "people": faces_json(self._faces)})
        return self._faces_cache[1]

    def _news(self, cursor: Cursor) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
        if cursor.state != self._state_seq:
            cursor.state = self._state_seq
            out.append(("state", self._state_copy()))
        for seq, event in self._events:
            if seq > cursor.event:
                out.append(("event", event))
        cursor.event = self._event_seq
        now = self.clock()
        if cursor.faces != self._faces_seq and now - cursor.moods_sent_at >= self.moods_period_s:
            cursor.faces, cursor.moods_sent_at = self._faces_seq, now
            out.append(("moods", self._moods()))
        return out
