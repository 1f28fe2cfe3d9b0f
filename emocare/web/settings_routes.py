"""The settings routes of ``emocare serve``: ``/settings`` the settings in effect and where each came from,
``POST /settings/messages`` the comfort messages saved into the config file (``config_edit``)."""

from __future__ import annotations

from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Mapping

from flask import Flask, redirect, request, url_for

from emocare.settings import LANGS
from emocare.web import config_edit
from emocare.web.pages import AppState, strings


def register(app: Flask, state: AppState) -> None:
    app.add_url_rule("/settings", "settings_page", partial(settings_page, state), methods=["GET"])
    app.add_url_rule("/settings/messages", "save_messages", partial(save_messages, state), methods=["POST"])


def _settings(state: AppState):
    from emocare import settings as settings_mod

    return settings_mod.load(state.web.config, dict(state.web.overrides))


def origin_words(origin: str, t: Mapping[str, str]) -> str:
    """Where a setting came from (``settings.load``'s origin), in the page's language."""
    if origin == "default":
        return t["origin_default"]
    if origin == "command line":
        return t["origin_command_line"]
    if origin.startswith("config "):
        return t["origin_config"].format(path=origin[len("config "):])
    return origin


def settings_page(state: AppState):
    return _settings_page(state, saved=request.args.get("saved") == "1")


def _settings_page(state: AppState, status: int = 200, refused: str | None = None,
                   errors: Mapping[str, str] | None = None, form: Mapping[str, str] | None = None,
                   saved: bool = False):
    from emocare import settings as settings_mod
    from emocare.errors import ConfigError

    path = settings_mod.config_path(state.web.config)
    t = strings()[state.lang()]
    try:
        settings, origin = _settings(state)
        load_error = None
    except ConfigError as exc:  # the command line's values still hold; the file's error said in the page's words
        settings, origin = settings_mod.without_file(state.web.overrides)
        load_error = t["config_unreadable"].format(error=str(exc))
    rows = []
    for f in fields(settings):
        if f.name == "messages":
            continue
        value = getattr(settings, f.name)
        text = ", ".join(value) if isinstance(value, tuple) else str(value).lower() if isinstance(value, bool) else str(value)
        if f.name == "lang" and not value:  # the system locale's, as every command resolves it
            text = t["lang_system"].format(lang=t["lang_" + settings_mod.system_language()])
        where = origin.get(f.name, "default")
        rows.append((f.name, t.get("about_" + f.name, ""), text, where, origin_words(where, t)))
    return state.page("settings.html", status, lang_path=None if request.method == "GET" else url_for("settings_page"),
                      nav="settings", rows=rows, config_path=path,
                      config_exists=Path(path).is_file(), load_error=load_error, refused=refused,
                      errors=errors or {}, form=form or {}, saved=saved,
                      messages=config_edit.effective(settings), editable=config_edit.editable(settings),
                      langs=LANGS, max_variants=config_edit.MAX_VARIANTS, max_chars=config_edit.MAX_CHARS)


def save_messages(state: AppState):
    from emocare import settings as settings_mod
    from emocare.errors import ConfigError

    form = {k: v for k, v in request.form.items() if k.startswith("msg-")}
    try:
        settings, _ = _settings(state)
    except ConfigError as exc:
        return _settings_page(state, 400, refused=str(exc), form=form)
    edits, errors = config_edit.parse_form(form, settings)
    if errors:
        t = strings()[state.lang()]
        said = {key: t["refuse_" + e.code].format(**e.params) for key, e in errors.items()}  # each box's, too
        return _settings_page(state, 400, refused=t["refuse_sep"].join(said.values()), errors=said, form=form)
    try:
        config_edit.save(settings_mod.config_path(state.web.config), edits, settings)
    except config_edit.EditRefused as exc:
        return _settings_page(state, 400, refused=str(exc), form=form)
    return redirect(url_for("settings_page", saved=1) + "#messages", code=303)
