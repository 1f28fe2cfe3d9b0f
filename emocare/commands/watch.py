"""``emocare watch``'s body: a live session with its status line, then its summary tables and where things went."""

from __future__ import annotations

from pathlib import Path

import typer

from emocare.commands import (VIDEO_SUFFIXES, check_audio_dir, check_output, load_settings, stderr_console,
                              terminal_stream)
from emocare.exits import Exit


def list_cameras() -> None:
    """``--list-cameras``: the cameras that open, one a line; exit 3 (``Exit.SOURCE``) when none does."""
    from emocare.sources import list_cameras as probe

    found = probe()
    if not found:
        typer.echo("emocare: error: no camera found (checked /dev/video0-9)", err=True)
        raise typer.Exit(Exit.SOURCE)
    for index, name in found:
        typer.echo(f"{index}: {name}")


def watch(camera, source, fast, size, no_window, record, journal_path, stats, config, overrides) -> int:
    from platformdirs import user_data_dir

    from emocare import watch as watch_lib
    from emocare.report import summarize, tables
    from emocare.sources import shown  # a path as text: control characters escaped, bytes that are not UTF-8 as \xe9
    from emocare.status import StatusLine
    from emocare.tables import Phrases

    settings, _ = load_settings(config, **overrides)
    err = stderr_console()
    if record is not None:
        check_output(record, VIDEO_SUFFIXES, "--record")
    check_audio_dir(settings)
    request = watch_lib.WatchRequest(source=source, fast=fast, show_window=not no_window, record=record,
                                     journal=journal_path, snapshot_dir=Path(user_data_dir("emocare")) / "snapshots",
                                     stats=stats)
    # a live line on a terminal, a line per mood change or care action elsewhere; nothing with --quiet
    sinks = [] if settings.quiet else [StatusLine(err, live=err.is_terminal, lang=settings.language)]
    run = watch_lib.run(settings, request, sinks,
                        on_journal=lambda path: err.print(f"journal: {shown(str(path))}", markup=False, highlight=False,
                                                          soft_wrap=True))
    if run.journal_error is not None:
        typer.echo(f"emocare: error: {run.journal_error}", err=True)
        return run.result.exit_code
    for table in tables(summarize(run.records), settings.language):
        err.print(table)
    if run.result.snapshots:
        err.print(f"snapshots: {shown(str(run.result.snapshots[0].parent))}", markup=False, highlight=False,
                  soft_wrap=True)
    if stats:
        err.print(Phrases(run.result.stats_phrases()))  # broken between its figures, never inside one
    err.print(f"journal: {shown(str(run.journal))}", markup=False, highlight=False, soft_wrap=True)
    if record is not None and run.result.reason != "recording failed" and Path(record).is_file():
        err.print(f"recording: {shown(str(record))}", markup=False, highlight=False, soft_wrap=True)
    if run.result.reason == "source lost":
        typer.echo(f"emocare: error: {run.label}: lost and did not come back; the journal is complete up to then", err=True)
    failed = terminal_stream().failed  # the terminal could not be written: the session ran on, its journal whole
    if failed is not None:
        return run.result.exit_code or (Exit.OUTPUT_CLOSED if isinstance(failed, BrokenPipeError) else Exit.FAILED)
    for problem in run.result.problems:  # a damaged video read in part, a recording the disk did not take
        typer.echo(f"emocare: error: {problem}", err=True)
    return run.result.exit_code or (1 if run.result.problems else 0)
