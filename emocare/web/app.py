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

import secrets
from importlib import resources

from flask import Flask

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
    csrf = secrets.token_urlsafe(32)
    history = History(Places(web.places), cache_dir=web.cache_dir)
    app.extensions["emocare"] = {"history": history, "csrf": csrf, "hub": hub, "web": web}
    state = AppState(web=web, hub=hub, csrf=csrf, history=history)
    for group in (checks, live_routes, history_routes, settings_routes):
        group.register(app, state)
    return app
