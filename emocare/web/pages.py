"""What every route of ``emocare serve`` shares: the serve's ``WebConfig``, the page strings, and ``AppState``
(the config, the live hub, the CSRF token, the history) with the page and plain-text responses.

``app.create_app`` makes one ``AppState`` and hands it to each group of routes (``checks``, ``live_routes``,
``history_routes``, ``settings_routes``), which take it as their first argument.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Mapping, Sequence

from flask import Response, render_template, request

from emocare.faces import EMOTIONS
from emocare.report import MOOD_ORDER
from emocare.settings import LANGS
from emocare.web.history import History
from emocare.web.hub import LiveHub
from emocare.web.wording import strings

TOKEN_COOKIE = "emocare_token"
LANG_COOKIE = "emocare_lang"
MOOD_COLORS = {  # the overlay's hues (overlay.COLORS), softened for a page
    "angry": "#d9695f", "disgust": "#5e9c6b", "fear": "#9a6fb0", "happy": "#e6b445", "sad": "#4f86c6",
    "surprise": "#3aaec2", "neutral": "#a3adb4", "uncertain": "#cdd3d8",
}


@dataclass(frozen=True)
class WebConfig:
    """What the pages need to know about this ``serve``."""

    lang: str = "en"  # the page language unless the viewer picks the other
    lang_chosen: bool = False  # lang was asked for (--lang, the config), not the locale's: it beats the browser's
    token: str | None = None  # required of every request when set (a non-loopback --host)
    allowed_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})  # None-like empty: any Host
    config: Path | None = None  # --config as given (None: EMOCARE_CONFIG or the user config dir's)
    overrides: Mapping = field(default_factory=dict)  # the command line's settings
    places: Sequence[Path] = ()  # where journals may be read
    cache_dir: Path | None = None  # the history's summaries of journals (None: in memory only)
    csrf_file: Path | None = None  # where the CSRF token is kept across restarts (None: a new one each start)



def span(seconds: float, t: Mapping[str, str]) -> str:
    """A length of time as a person reads it, in the page's language: "45 s", "2 min 31 s", "12 min", "1 h 5 min"
    (under a minute in seconds, so a short session is not "0 min"; under ten with its seconds, so 150.9 s is not
    "3 min" beside a chart that shows 2.5)."""
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} {t['seconds_short']}"
    if whole < 600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} {t['minutes_short']}" + (f" {rest} {t['seconds_short']}" if rest else "")
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} {t['minutes_short']}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} {t['hours_short']}" + (f" {minutes} {t['minutes_short']}" if minutes else "")


WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def lang_href(code: str, path: str | None = None) -> str:
    """This page in language ``code``: its other query parameters kept (a past week stays that week); ``path``
    for a page that answered a POST (a GET there would be 405)."""
    from urllib.parse import urlencode

    # not the token (its cookie holds it; a link need not spread it) nor a notice already shown ("saved")
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("lang", "token", "saved")]
    return (path or request.path) + "?" + urlencode([*args, ("lang", code)])


def day_title(day: date, lang: str) -> str:
    """A day as the history heads it, with its weekday, in the page's language whatever the server's locale:
    "Thursday 03 December 2026", "2026年12月3日 星期四"."""
    weekday = WEEKDAYS["zh" if lang == "zh" else "en"][day.weekday()]
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日 {weekday}"
    return f"{weekday} {day.day:02d} {MONTHS_EN[day.month - 1]} {day.year}"


def plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


@dataclass(frozen=True)
class AppState:
    """One app's state, shared by its routes."""

    web: WebConfig
    hub: LiveHub | None  # None: no live session (the history and settings only)
    csrf: str  # the token every POST must carry
    history: History

    def lang(self) -> str:
        """The viewer's page language: ``?lang=``, its cookie, the serve's where it was asked for (--lang, the
        config), the browser's own preference (Accept-Language), else the serve's (the system locale's)."""
        chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
        if chosen in LANGS:
            return chosen
        served = self.web.lang if self.web.lang in LANGS else "en"
        if self.web.lang_chosen or not request.accept_languages:
            return served
        return request.accept_languages.best_match(LANGS) or served

    def page(self, template: str, status: int = 200, lang_path: str | None = None, **context) -> Response:
        """``template`` in the viewer's language; ``lang_path``: where the other language's link leads when not
        to this path (a page that answered a POST)."""
        code = self.lang()
        t = strings()[code]
        other = next(c for c in LANGS if c != code)
        context.setdefault("lang_href", lang_href(other, lang_path))
        body = render_template(template, t=t, lang=code, other_lang=other, csrf=self.csrf, colors=MOOD_COLORS,
                               live=self.hub is not None, moods=MOOD_ORDER, emotions=EMOTIONS,
                               page_strings=json.dumps(t, ensure_ascii=False),
                               span=lambda seconds: span(seconds, t), day_title=lambda day: day_title(day, code),
                               **context)
        return Response(body, status=status, mimetype="text/html")
