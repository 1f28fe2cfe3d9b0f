"""The Flask application of ``emocare serve``: pages, streams, the token and CSRF checks.

Routes: ``/`` the live page, ``/video.mjpg`` its video, ``/events`` its pushed events (Server-Sent Events),
``/api/state`` the same as one JSON object, ``POST /control`` pause, mute or snapshot, ``/history`` and
``/history/<place>/<journal>`` the history, ``/settings`` and ``POST /settings/messages`` the settings.

Safety: on loopback the ``Host`` header must name loopback (a page of another site that points its own name at
127.0.0.1 is refused); off loopback every request, the static files and streams included, needs the token
printed at start (``?token=``, then a cookie). Every POST needs the page's CSRF token and, when the browser
sends one, a same-origin ``Origin``. Journal names are resolved by ``history.Places`` only; nothing from a
request reaches a shell or a path outside the listed places.

The routes are in groups, each a module with its ``register(app, state)``: ``checks`` (the request checks, the
headers, the error pages), ``live_routes``, ``history_routes``, ``settings_routes``; what they share is
``pages.AppState``. The names this module had before are importable from it still.
"""

from __future__ import annotations

import os
import re
import secrets
from importlib import resources
from pathlib import Path

from flask import Flask

from emocare.names import make_folder
from emocare.web import checks, history_routes, live_routes, settings_routes
from emocare.web.history import History, Places
from emocare.web.hub import LiveHub
from emocare.web.live_routes import BOUNDARY, HEARTBEAT_S
from emocare.web.pages import LANG_COOKIE, MOOD_COLORS, TOKEN_COOKIE, AppState, WebConfig, strings

__all__ = ["BOUNDARY", "HEARTBEAT_S", "LANG_COOKIE", "MOOD_COLORS", "TOKEN_COOKIE", "WebConfig", "create_app",
           "strings"]


def create_app(web: WebConfig, hub: LiveHub | None = None) -> Flask:
    package = resources.files("emocare.web")
    app = Flask("emocare.web", template_folder=str(package / "templates"), static_folder=str(package / "static"),
                static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024, SEND_FILE_MAX_AGE_DEFAULT=3600, TEMPLATES_AUTO_RELOAD=False)
    app.url_map.strict_slashes = False  # /history/ (typed, or pasted with its slash) is /history, not a 404
    csrf = csrf_token(web.csrf_file)
    history = History(Places(web.places), cache_dir=web.cache_dir)
    app.extensions["emocare"] = {"history": history, "csrf": csrf, "hub": hub, "web": web}
    state = AppState(web=web, hub=hub, csrf=csrf, history=history)
    for group in (checks, live_routes, history_routes, settings_routes):
        group.register(app, state)
    return app


def csrf_token(path: Path | None) -> str:
    """The token every POST must carry. Kept in ``path`` (readable by this user only), so a page opened before
    ``serve`` restarted still pauses, mutes and saves after it; a new one each start where it cannot be kept."""
    try:
        kept = path.read_text(encoding="ascii").strip() if path is not None else ""
    except (OSError, UnicodeDecodeError):
        kept = ""
    if re.fullmatch(r"[A-Za-z0-9_-]{43}", kept):
        return kept
    token = secrets.token_urlsafe(32)
    if path is not None:
        try:
            make_folder(path.parent)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as f:
                f.write(token)
        except OSError:
            pass
    return token
