"""The live routes of ``emocare serve``: ``/`` the live page, ``/video.mjpg`` its video, ``/events`` its pushed
events (Server-Sent Events), ``/api/state`` the same as one JSON object, ``POST /control`` pause, mute or
snapshot. Without a live session (``AppState.hub`` None) the page sends to the history and the rest are 404."""

from __future__ import annotations

import json
import time
from functools import partial

from flask import Flask, Response, abort, jsonify, redirect, request, url_for

from emocare.web.hub import COMMANDS, Busy, LiveHub
from emocare.web.pages import AppState, plain

BOUNDARY = "emocareframe"
HEARTBEAT_S = 15.0


def register(app: Flask, state: AppState) -> None:
    for rule, view, methods in (("/", live_page, ["GET"]), ("/api/state", api_state, ["GET"]),
                                ("/video.mjpg", video, ["GET"]), ("/events", events, ["GET"]),
                                ("/control", control, ["POST"])):
        app.add_url_rule(rule, view.__name__, partial(view, state), methods=methods)


class _Released:
    """A stream's body: gives back its slot when the server closes it, whether or not it ever ran (a generator
    closed before its first step never reaches its ``finally``)."""

    def __init__(self, body, hub: LiveHub):
        self.body, self.hub, self._open = body, hub, True

    def __iter__(self):
        return self.body

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.body.close()
            finally:
                self.hub.release()


def live_page(state: AppState):
    if state.hub is None:
        return redirect(url_for("history_page"))
    return state.page("live.html", nav="live")


def api_state(state: AppState):
    if state.hub is None:
        abort(404)
    data, _ = state.hub.snapshot()
    # whether a new stream would be refused (503): a page turned away says so, and tries again until a place frees
    data["full"] = state.hub.streams >= state.hub.max_streams
    return jsonify(data)


def _slot(state: AppState):
    """A stream slot for this viewer (``hub.acquire``), or the response that says why there is none."""
    if state.hub is None:
        abort(404)
    try:
        state.hub.acquire()
    except Busy as exc:
        return plain(f"busy: {exc}", 503)
    return None


def _frames(hub: LiveHub):
    """The video's parts: each new frame, and while none comes the last one again every 2 s."""
    seq, last_sent = 0, time.monotonic()
    while not hub.closed:
        got = hub.next_frame(seq, timeout=1.0)
        if got is not None:
            seq, jpeg = got
        else:  # no new frame (paused, or the source ended): repeat the last one every 2 s, so a
            jpeg = hub.latest_frame()  # viewer that left is noticed and its slot given back
            if jpeg is None and hub.ended is not None:
                return  # the source ended before anyone looked: no frame will ever come, so the slot is given back
            if jpeg is None or time.monotonic() - last_sent < 2.0:
                continue
        last_sent = time.monotonic()
        yield (b"--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
               + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")


def video(state: AppState):
    refused = _slot(state)
    if refused is not None:
        return refused
    return Response(_Released(_frames(state.hub), state.hub),
                    mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}, direct_passthrough=True)


def _stream(hub: LiveHub):
    """The events: the state first (``hello``), then what changes, and a comment after a quiet while."""
    data, cursor = hub.snapshot()
    yield "retry: 2000\nevent: hello\ndata: " + json.dumps(data, ensure_ascii=False) + "\n\n"
    quiet_since = time.monotonic()
    while not hub.closed:
        news = hub.updates(cursor, timeout=1.0)
        if news:
            quiet_since = time.monotonic()
            yield "".join(f"event: {kind}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
                          for kind, item in news)
        elif time.monotonic() - quiet_since >= HEARTBEAT_S:  # a comment: keeps proxies open, and
            quiet_since = time.monotonic()  # notices a viewer that left
            yield ": still here\n\n"


def events(state: AppState):
    refused = _slot(state)
    if refused is not None:
        return refused
    return Response(_Released(_stream(state.hub), state.hub), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def control(state: AppState):
    if state.hub is None:
        abort(404)
    command = request.form.get("command", "")
    if command not in COMMANDS:
        return plain(f"unknown command {command[:40]!r} (use {', '.join(COMMANDS)})", 400)
    if state.hub.ended is not None:  # nothing reads commands any more: say so rather than queue them for nobody
        return plain(f"the session has ended ({state.hub.ended}): nothing to {command}", 409)
    state.hub.request(command)
    return jsonify({"queued": command}), 202
