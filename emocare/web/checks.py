"""The checks on every request of ``emocare serve``, the headers on every response, and the error pages.

On loopback the ``Host`` header must name loopback; off loopback every request, the static files and streams
included, needs the token (``?token=``, then a cookie); the page that asks for it carries its style inline.
Every POST needs the page's CSRF token and, when the browser sends one, a same-origin ``Origin`` and
``Sec-Fetch-Site``.
"""

from __future__ import annotations

import hmac
from functools import lru_cache, partial
from pathlib import Path

from flask import Flask, Response, request

from emocare.settings import LANGS
from emocare.web.pages import LANG_COOKIE, TOKEN_COOKIE, AppState, plain

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def register(app: Flask, state: AppState) -> None:
    app.before_request(partial(guard, state))
    app.after_request(partial(headers, state))
    app.register_error_handler(404, partial(not_found, state))
    app.register_error_handler(405, not_allowed)
    app.register_error_handler(413, too_large)


def _origin_ok(req) -> bool:
    """No ``Origin`` (an old browser, a script) or this server's own."""
    origin = req.headers.get("Origin")
    return origin is None or origin.rstrip("/") == req.host_url.rstrip("/")


def guard(state: AppState):
    """None for a request that may go on, else the response that refuses it."""
    web = state.web
    host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower() if request.host else ""
    if web.allowed_hosts and host not in web.allowed_hosts:
        return plain(f"emocare serves this address only as {', '.join(sorted(web.allowed_hosts))}", 400)
    if web.token is not None:
        given = (request.args.get("token") or request.headers.get("X-Emocare-Token")
                 or request.cookies.get(TOKEN_COOKIE) or "")
        if not hmac.compare_digest(given.encode(), web.token.encode()):
            # its style inline (the stylesheet needs the token too), no links that lead here again, no CSRF token
            return state.page("token.html", 403, locked=True, inline_style=_style())
    if request.method == "POST":
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), state.csrf.encode()) or not _origin_ok(request):
            return plain("refused: this form did not come from emocare's own page (CSRF check)", 403)
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return plain("refused: a request from another site (CSRF check)", 403)
    return None


@lru_cache(maxsize=1)
def _style() -> str:
    return (Path(__file__).parent / "static" / "style.css").read_text(encoding="utf-8")


def headers(state: AppState, resp: Response) -> Response:
    """The security headers, and the token's and the language's cookies when the URL gave them."""
    web = state.web
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null" with a form's POST, which the
    # origin check refused, so the settings page could not save; other sites still get no referrer (nor the token)
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    if web.token is not None and request.args.get("token") == web.token:
        resp.set_cookie(TOKEN_COOKIE, web.token, httponly=True, samesite="Strict", path="/")
    chosen = request.args.get("lang")
    if chosen in LANGS:
        resp.set_cookie(LANG_COOKIE, chosen, samesite="Strict", path="/", max_age=365 * 86400)
    return resp


def not_found(state: AppState, _):
    return state.page("not_found.html", 404)


def not_allowed(_):
    return plain("method not allowed", 405)


def too_large(_):
    return plain("request too large", 413)
