"""``emocare report``'s body: a journal's last session summarised (its tables, and its timeline with --plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from emocare import extras
from emocare.commands import PLOT_SUFFIXES, check_output, load_settings, stderr_console, stdout_console
from emocare.errors import EmocareError
from emocare.exits import Exit


def _language(records) -> str:
    """The summary's language: the session's own (its start line's settings), else the config file's ``lang``,
    else the system locale's (a config that cannot be read is not this command's business: the locale's)."""
    from emocare import settings as settings_mod
    from emocare.errors import ConfigError

    config = getattr(records[0], "config", None) if records else None
    said = config.get("lang") if isinstance(config, dict) else None
    if said in settings_mod.LANGS:
        return said
    try:
        return load_settings(None)[0].language
    except ConfigError:
        return settings_mod.system_language()


def report(journal: Optional[Path], plot_path: Optional[Path]) -> None:
    from emocare import journal as journal_mod
    from emocare.report import plot, summarize, tables

    if plot_path is not None:
        extras.require("plot", "emocare report --plot")
        check_output(plot_path, PLOT_SUFFIXES, "--plot")
    if journal is None:
        journal = journal_mod.latest_journal()
        stderr_console().print(f"journal: {journal}", highlight=False, soft_wrap=True, markup=False)
    skipped: list[str] = []
    runs = journal_mod.sessions(journal_mod.read(journal, skipped))
    if not runs:
        from emocare.sources import shown

        raise EmocareError(f"{shown(str(journal))}: {'no line of it could be read' if skipped else 'empty journal'}")
    _say_skipped(skipped)
    records = runs[-1]
    console = stdout_console()
    if len(runs) > 1:  # each session after the first begins with its start line
        started = getattr(records[0], "started", None)
        console.print(f"{journal}: {len(runs)} sessions; this is the last one (started {'?' if started is None else started})",
                      markup=False, highlight=False)
    lang = _language(records)
    for table in tables(summarize(records), lang):
        console.print(table)
    if plot_path is not None:
        plot(records, plot_path, lang=lang)
        console.print(f"plot: {plot_path}", markup=False, highlight=False)
    if skipped:  # what could be read is shown; the lines left out make it a partial result
        raise typer.Exit(Exit.FAILED)


def _say_skipped(skipped: list[str], shown_at_most: int = 3) -> None:
    """One line per bad line left out (the first few), then how many more; stderr, before the tables."""
    for message in skipped[:shown_at_most]:
        typer.echo(f"emocare: {message}; left out", err=True)
    if len(skipped) > shown_at_most:
        typer.echo(f"emocare: and {len(skipped) - shown_at_most} more lines that are not journal lines, left out",
                   err=True)
