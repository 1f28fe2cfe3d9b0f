"""``emocare models`` without a subcommand: the table of engines and detectors, their files, whether they are there."""

from __future__ import annotations

import typer

from emocare.commands import stdout_console
from emocare.engines import registry


def print_table() -> None:
    """Table of engines: installed or not, weights files, where, size, present."""
    from rich.table import Table

    from emocare.engines import weights
    from emocare.engines.litert import chosen_runtime

    runtime = chosen_runtime()  # a wrong EMOCARE_RUNTIME is one line before the table
    table = Table(title="emocare engines and models")
    for col in ("engine", "installed", "file", "path", "size MB", "present"):
        table.add_column(col, overflow="fold")
    for source in registry.MODEL_SOURCES:
        files, installed = source.model_files(), source.is_installed()
        if not files:
            table.add_row(source.name, "no", "-", "-", "-", "-")
        for f in files:
            present = "yes" if f.present else "[red]no[/red]"
            if f.present and f.path.suffix == ".h5" and weights.is_random(f.path):
                present = "[yellow]random (benchmarks only)[/yellow]"
            table.add_row(source.name, "yes" if installed else "no", f.role, str(f.path),
                          f"{f.size_mb:.2f}" if f.present else "-", present)
    stdout_console().print(table)
    if runtime == "litert":
        typer.echo("emocare's model and BlazeFace run on LiteRT.")
    else:
        typer.echo("emocare's model and BlazeFace run on OpenCV's DNN module (no LiteRT installed, or "
                   "EMOCARE_RUNTIME=opencv); pip install 'emocare[litert]' runs them 2-3x faster.")
    if not weights.emotion_weights_present():
        from emocare import extras

        if extras.missing("deepface"):  # the light install: the commands that fetch them need the extra first
            typer.echo("DeepFace's engines and weights are optional: --engine auto uses emocare's own model. "
                       "For DeepFace's: pip install 'emocare[deepface]', then 'emocare models download'.", err=True)
        else:
            typer.echo("DeepFace's weights are optional: without them --engine auto uses emocare's own model. "
                       + weights.missing_message(), err=True)
