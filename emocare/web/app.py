"""The Flask application of ``emocare serve``: pages, streams, the token and CSRF checks.

Routes: ``/`` the live page, ``/video.mjpg`` its video, ``/events`` its pushed events (Server-Sent Events),
``/api/state`` the same as one JSON object, ``POST /control`` pause, mute or snapshot, ``/history`` and
``/history/<place>/<journal>`` the history, ``/settings`` and ``POST /settings/messages`` the settings.

Safety: on loopback the ``Host`` header must name loopback (a page of another site that points its own name at
127.0.0.1 is refused); off loopback every request, the static files and streams included, needs the token
printed at start (``?token=``, then a cookie). Every POST needs the page's CSRF token and, when the browser
sends one, a same-origin ``Origin``. Journal names are resolved by ``history.Places`` only; nothing from a
request reaches a shell or a path outside the listed places.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, url_for

from emocare.faces import EMOTIONS
from emocare.report import MOOD_ORDER
from emocare.settings import LANGS
from emocare.web import config_edit
from emocare.web.history import History, NotAllowed, Places, by_day, week
from emocare.web.hub import COMMANDS, Busy, LiveHub

TOKEN_COOKIE = "emocare_token"
LANG_COOKIE = "emocare_lang"
MOOD_COLORS = {  # the overlay's hues (overlay.COLORS), softened for a page
    "angry": "#d9695f", "disgust": "#5e9c6b", "fear": "#9a6fb0", "happy": "#e6b445", "sad": "#4f86c6",
    "surprise": "#3aaec2", "neutral": "#a3adb4", "uncertain": "#cdd3d8",
}
BOUNDARY = "emocareframe"
HEARTBEAT_S = 15.0


@dataclass(frozen=True)
class WebConfig:
    """What the pages need to know about this ``serve``."""

    lang: str = "en"  # the page language unless the viewer picks the other
    token: str | None = None  # required of every request when set (a non-loopback --host)
    allowed_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})  # None-like empty: any Host
    config: Path | None = None  # --config as given (None: EMOCARE_CONFIG or the user config dir's)
    overrides: Mapping = field(default_factory=dict)  # the command line's settings
    places: Sequence[Path] = ()  # where journals may be read
    cache_dir: Path | None = None  # the history's summaries of journals (None: in memory only)


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    text = resources.files("emocare.web").joinpath("strings.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _origin_ok(req) -> bool:
    """No ``Origin`` (an old browser, a script) or this server's own."""
    origin = req.headers.get("Origin")
    return origin is None or origin.rstrip("/") == req.host_url.rstrip("/")


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


def create_app(web: WebConfig, hub: LiveHub | None = None) -> Flask:
    package = resources.files("emocare.web")
    app = Flask("emocare.web", template_folder=str(package / "templates"), static_folder=str(package / "static"),
                static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024, SEND_FILE_MAX_AGE_DEFAULT=3600, TEMPLATES_AUTO_RELOAD=False)
    csrf = secrets.token_urlsafe(32)
    history = History(Places(web.places), cache_dir=web.cache_dir)
    app.extensions["emocare"] = {"history": history, "csrf": csrf, "hub": hub, "web": web}

    # ------------------------------------------------------------------ checks on every request
    @app.before_request
    def _guard():
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower() if request.host else ""
        if web.allowed_hosts and host not in web.allowed_hosts:
            return _plain(f"emocare serves this address only as {', '.join(sorted(web.allowed_hosts))}", 400)
        if web.token is not None:
            given = (request.args.get("token") or request.headers.get("X-Emocare-Token")
                     or request.cookies.get(TOKEN_COOKIE) or "")
            if not hmac.compare_digest(given.encode(), web.token.encode()):
                return _page("token.html", 403)
        if request.method == "POST":
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode(), csrf.encode()) or not _origin_ok(request):
                return _plain("refused: this form did not come from emocare's own page (CSRF check)", 403)
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return _plain("refused: a request from another site (CSRF check)", 403)

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/static/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        if web.token is not None and request.args.get("token") == web.token:
            resp.set_cookie(TOKEN_COOKIE, web.token, httponly=True, samesite="Strict", path="/")
        chosen = request.args.get("lang")
        if chosen in LANGS:
            resp.set_cookie(LANG_COOKIE, chosen, samesite="Strict", path="/", max_age=365 * 86400)
        return resp

    @app.errorhandler(404)
    def _not_found(_):
        return _page("not_found.html", 404)

    @app.errorhandler(405)
    def _not_allowed(_):
        return _plain("method not allowed", 405)

    @app.errorhandler(413)
    def _too_large(_):
        return _plain("request too large", 413)

    # ------------------------------------------------------------------ helpers
    def lang() -> str:
        chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
        return chosen if chosen in LANGS else (web.lang if web.lang in LANGS else "en")

    def _page(template: str, status: int = 200, **context):
        code = lang()
        t = strings()[code]
        other = next(c for c in LANGS if c != code)
        body = render_template(template, t=t, lang=code, other_lang=other, csrf=csrf, colors=MOOD_COLORS,
                               live=hub is not None, moods=MOOD_ORDER, emotions=EMOTIONS,
                               page_strings=json.dumps(t, ensure_ascii=False), **context)
        return Response(body, status=status, mimetype="text/html")

    def _plain(text: str, status: int):
        return Response(text + "\n", status=status, mimetype="text/plain")

    def _settings():
        from emocare import settings as settings_mod

        return settings_mod.load(web.config, dict(web.overrides))

    # ------------------------------------------------------------------ live
    @app.get("/")
    def live_page():
        if hub is None:
            return redirect(url_for("history_page"))
        return _page("live.html", nav="live")

    @app.get("/api/state")
    def api_state():
        if hub is None:
            abort(404)
        data, _ = hub.snapshot()
        return jsonify(data)

    def _slot():
        """A stream slot for this viewer (``hub.acquire``), or the response that says why there is none."""
        if hub is None:
            abort(404)
        try:
            hub.acquire()
        except Busy as exc:
            return _plain(f"busy: {exc}", 503)
        return None

    @app.get("/video.mjpg")
    def video():
        refused = _slot()
        if refused is not None:
            return refused

        def frames():
            seq, last_sent = 0, time.monotonic()
            while not hub.closed:
                got = hub.next_frame(seq, timeout=1.0)
                if got is not None:
                    seq, jpeg = got
                else:  # no new frame (paused, or the source ended): repeat the last one every 2 s, so a
                    jpeg = hub.latest_frame()  # viewer that left is noticed and its slot given back
                    if jpeg is None or time.monotonic() - last_sent < 2.0:
                        continue
                last_sent = time.monotonic()
                yield (b"--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                       + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")

        return Response(_Released(frames(), hub), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}, direct_passthrough=True)

    @app.get("/events")
    def events():
        refused = _slot()
        if refused is not None:
            return refused

        def stream():
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

        return Response(_Released(stream(), hub), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.post("/control")
    def control():
        if hub is None:
            abort(404)
        command = request.form.get("command", "")
        if command not in COMMANDS:
            return _plain(f"unknown command {command[:40]!r} (use {', '.join(COMMANDS)})", 400)
        hub.request(command)
        return jsonify({"queued": command}), 202

    # ------------------------------------------------------------------ history
    @app.get("/history")
    def history_page():
        sessions, broken = history.all()
        last = sessions[0].day if sessions else date.today()
        try:
            ending = date.fromisoformat(request.args["week"]) if "week" in request.args else last
        except ValueError:
            return _plain("week: expected a date such as 2026-11-26", 400)
        resp = _page("history.html", nav="history", days=by_day(sessions), broken=broken,
                     week_json=json.dumps(week(sessions, ending)), week_end=ending, week_start=ending - timedelta(days=6),
                     week_prev=(ending - timedelta(days=7)).isoformat(),
                     week_next=(ending + timedelta(days=7)).isoformat() if ending < last else None)
        resp.call_on_close(history.save)  # new summaries to disk once the page is sent
        return resp

    @app.get("/history/<int:place>/<name>")
    def journal_page(place: int, name: str):
        try:
            path = history.places.resolve(place, name)
        except (NotAllowed, FileNotFoundError):
            abort(404)
        view = history.journal(f"{place}/{name}", path)
        resp = _page("journal.html", nav="history", view=view,
                     sessions_json=json.dumps([s.to_json() for s in view.sessions], ensure_ascii=False))
        resp.call_on_close(history.save)
        return resp

    # ------------------------------------------------------------------ settings
    @app.get("/settings")
    def settings_page():
        return _settings_page(saved=request.args.get("saved") == "1")

    def _settings_page(status: int = 200, refused: str | None = None, errors: Mapping[str, str] | None = None,
                       form: Mapping[str, str] | None = None, saved: bool = False):
        from emocare import settings as settings_mod
        from emocare.errors import ConfigError

        path = settings_mod.config_path(web.config)
        try:
            settings, origin = _settings()
            load_error = None
        except ConfigError as exc:
            settings, origin, load_error = settings_mod.DEFAULTS, None, str(exc)
        rows = []
        for f in fields(settings):
            if f.name == "messages":
                continue
            value = getattr(settings, f.name)
            text = ", ".join(value) if isinstance(value, tuple) else str(value).lower() if isinstance(value, bool) else str(value)
            rows.append((f.name, text, (origin or {}).get(f.name, "default")))
        return _page("settings.html", status, nav="settings", rows=rows, config_path=path,
                     config_exists=Path(path).is_file(), load_error=load_error, refused=refused,
                     errors=errors or {}, form=form or {}, saved=saved,
                     messages=config_edit.effective(settings), editable=config_edit.editable(settings),
                     langs=LANGS, max_variants=config_edit.MAX_VARIANTS, max_chars=config_edit.MAX_CHARS)

    @app.post("/settings/messages")
    def save_messages():
        from emocare import settings as settings_mod
        from emocare.errors import ConfigError

        form = {k: v for k, v in request.form.items() if k.startswith("msg-")}
        try:
            settings, _ = _settings()
        except ConfigError as exc:
            return _settings_page(400, refused=str(exc), form=form)
        edits, errors = config_edit.parse_form(form, settings)
        if errors:
            return _settings_page(400, refused="; ".join(errors.values()), errors=errors, form=form)
        try:
            config_edit.save(settings_mod.config_path(web.config), edits, settings)
        except config_edit.EditRefused as exc:
            return _settings_page(400, refused=str(exc), form=form)
        return redirect(url_for("settings_page", saved=1) + "#messages", code=303)

    return app
