"""``emocare serve``'s body: the web pages up, the session they watch summarised when its source ends."""

from __future__ import annotations

from pathlib import Path

import typer

from emocare.commands import VIDEO_SUFFIXES, check_audio_dir, check_output, load_settings, stderr_console
from emocare.errors import ConfigError


def _check_history(history) -> None:
    """Each ``--history`` a folder, or a journal the history page can show (by its .jsonl name), else exit 2."""
    from emocare.web.places import NAME

    for p in history:
        if not p.exists():
            raise ConfigError(f"--history {p}: no such file or folder")
        if p.is_dir():
            continue
        if p.suffix != ".jsonl":
            raise ConfigError(f"--history {p}: not a journal (a .jsonl file, or a folder of them)")
        if not NAME.fullmatch(p.name):
            raise ConfigError(f"--history {p}: a name the history cannot show (rename it: a letter or digit first, "
                              "then letters, digits, spaces, . _ - + ( ))")


def serve(source, fast, no_camera, show_window, host, port, history, max_viewers, record, journal_path, config,
          overrides) -> int:
    from platformdirs import user_data_dir

    from emocare import watch as watch_lib
    from emocare.report import summarize, tables
    from emocare.status import StatusLine
    from emocare.web.server import ServeOptions, serve as serve_pages

    settings, _ = load_settings(config, **overrides)
    if not 1 <= max_viewers <= 200:
        raise ConfigError(f"--max-viewers {max_viewers}: use 1 to 200")
    _check_history(history)
    if record is not None:
        check_output(record, VIDEO_SUFFIXES, "--record")
    if not no_camera:  # with no session, nothing is played
        check_audio_dir(settings)
    snapshots = Path(user_data_dir("emocare")) / "snapshots"
    request = None if no_camera else watch_lib.WatchRequest(source=source, fast=fast, show_window=show_window, record=record,
                                                            journal=journal_path, snapshot_dir=snapshots)
    options = ServeOptions(host=host, port=port, max_streams=2 * max_viewers, history=tuple(history), config=config,
                           overrides={k: v for k, v in overrides.items() if v is not None})
    err = stderr_console()

    def watched(run) -> None:
        if run.journal_error is not None:
            typer.echo(f"emocare: error: {run.journal_error}", err=True)
            return
        for table in tables(summarize(run.records), settings.language):
            err.print(table)
        err.print(f"journal: {run.journal}")
        if run.result.reason == "source lost":
            typer.echo(f"emocare: error: {run.label}: lost and did not come back; the journal is complete up to then", err=True)
        if run.result.reason != "interrupted":
            from emocare.terminal_words import words_for

            err.print(words_for(settings.language)[0]["serve_ended"], highlight=False)

    sinks = [] if settings.quiet or request is None else [StatusLine(err, live=err.is_terminal, lang=settings.language)]
    run = serve_pages(settings, request, options, sinks=sinks, on_ready=lambda server: _ready(server, err, settings.language),
                      on_watched=watched,
                      on_journal=lambda path: err.print(f"journal: {path}"))
    return run.result.exit_code if run is not None else 0


def _ready(server, err, lang: str = "en") -> None:
    """The pages are up: their address on stdout (and where other devices reach them), the rest on stderr, in the
    session's language."""
    from emocare.terminal_words import words_for
    from emocare.web.server import ANY

    w, _ = words_for(lang)
    typer.echo(f"emocare serve: {server.url}")
    others = server.other_urls()
    if others:
        err.print(w["serve_other"].format(urls="  ".join(others)), highlight=False, soft_wrap=True, markup=False)
    elif server.host in ANY:
        err.print(w["serve_other_any"].format(port=server.port), highlight=False, soft_wrap=True, markup=False)
    if server.token:
        err.print(w["serve_token"], highlight=False, markup=False)
    err.print(w["serve_stop"], highlight=False, markup=False)
