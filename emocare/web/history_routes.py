"""The history routes of ``emocare serve``: ``/history`` the days and the week, ``/history/<place>/<journal>``
one journal's sessions. Journal names are resolved by ``history.Places`` only."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial

from flask import Flask, abort, request

from emocare.web.comfort import Counterparts
from emocare.web.history import NotAllowed, by_day, week
from emocare.web.pages import AppState, strings


def register(app: Flask, state: AppState) -> None:
    app.add_url_rule("/history", "history_page", partial(history_page, state), methods=["GET"])
    app.add_url_rule("/history/<int:place>/<name>", "journal_page", partial(journal_page, state), methods=["GET"])


def history_page(state: AppState):
    history = state.history
    sessions, broken = history.all()
    last = sessions[0].day if sessions else date.today()
    try:
        ending = date.fromisoformat(request.args["week"]) if "week" in request.args else last
        before = ending - timedelta(days=7)  # 0001-01-01 has no week before it
        after = (ending + timedelta(days=7)).isoformat() if ending < last else None
    except (ValueError, OverflowError):  # a page in the viewer's language that leads back to the history
        t = strings()[state.lang()]
        return state.page("not_found.html", 400, heading=t["bad_week"], help=t["bad_week_help"])
    shown_week = week(sessions, ending)
    resp = state.page("history.html", nav="history", days=by_day(sessions), broken=broken,
                      week_json=json.dumps(shown_week), week_empty=not shown_week["minutes"],
                      week_end=ending, week_start=ending - timedelta(days=6),
                      week_prev=before.isoformat(), week_next=after,
                      this_week=ending == last and last >= date.today() - timedelta(days=6))
    resp.call_on_close(history.save)  # new summaries to disk once the page is sent
    return resp


def _counterparts(state: AppState) -> Counterparts:
    """The comfort words of the config in use (the packaged ones when it cannot be read)."""
    from emocare import settings as settings_mod
    from emocare.errors import ConfigError

    try:
        settings, _ = settings_mod.load(state.web.config, dict(state.web.overrides))
    except ConfigError:
        return Counterparts()
    return Counterparts(settings.messages)


def journal_page(state: AppState, place: int, name: str):
    history = state.history
    try:
        path = history.places.resolve(place, name)
    except (NotAllowed, FileNotFoundError):
        abort(404)
    view = history.journal(f"{place}/{name}", path)
    lang, counterparts = state.lang(), _counterparts(state)

    def comfort(care: dict) -> str:
        """A comfort in the page's language where the messages have its counterpart, else as it was said."""
        message = care.get("message")
        if not isinstance(message, str):
            return message or ""
        return counterparts.words(message, care.get("lang"), care.get("mood")).get(lang, message)

    sessions = [s.to_json() for s in view.sessions]
    for s in sessions:
        s["care"] = [{**c, "message": comfort(c)} for c in s["care"]]
    resp = state.page("journal.html", nav="history", view=view, comfort=comfort,
                      sessions_json=json.dumps(sessions, ensure_ascii=False))
    resp.call_on_close(history.save)
    return resp
