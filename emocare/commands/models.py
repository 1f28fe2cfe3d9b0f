"""``emocare models`` without a subcommand: the table of engines and detectors, their files, whether they are there."""

from __future__ import annotations

from emocare.commands import print_note, stdout_console
from emocare.engines import registry


def print_table() -> None:
    """Engines: installed or not, and for each its folder, named once, then its weights files, sizes, present."""
    from emocare.engines.litert import chosen_runtime

    runtime = chosen_runtime()  # a wrong EMOCARE_RUNTIME is one line before the table
    out = stdout_console()
    out.print("emocare engines and models", style="table.title", markup=False, highlight=False)
    for part in engine_tables(registry.MODEL_SOURCES):
        out.print(part)
    # the notes wrap at the terminal's width, between words (as one long line they ran to 159 columns), and a
    # quoted command stays on one line
    if runtime == "litert":
        print_note(out, "emocare's model and BlazeFace run on LiteRT (the face check's ONet on OpenCV's DNN module).")
    else:
        print_note(out, "emocare's model and BlazeFace run on OpenCV's DNN module (no LiteRT installed, or "
                        "EMOCARE_RUNTIME=opencv); pip install 'emocare[litert]' runs them 2-3x faster.")
    from emocare.engines import weights

    if not weights.emotion_weights_present():
        from emocare import extras
        from emocare.commands import stderr_console

        if extras.missing("deepface"):  # the light install: the commands that fetch them need the extra first
            note = ("DeepFace's engines and weights are optional: --engine auto uses emocare's own model. "
                    "For DeepFace's: pip install 'emocare[deepface]', then 'emocare models download'.")
        else:
            note = ("DeepFace's weights are optional: without them --engine auto uses emocare's own model. "
                    + weights.missing_message())
        print_note(stderr_console(), note)


def engine_tables(sources) -> list:
    """A title and a table per engine: the folder its files lie in is named once in the title (where a full path
    breaks only after a ``/``), and the rows hold the names below it, so each path is read whole, and copied, at
    80 columns; an engine without files is one line."""
    from rich.table import Table

    from emocare.engines import weights
    from emocare.sources import shown
    from emocare.tables import Fitted, Phrases, common_folder, path_phrases

    parts = []
    for source in sources:
        files, installed = source.model_files(), source.is_installed()
        if not files:
            parts.append(Phrases([f"{source.name}: ", "not installed, ", "no files"], style="table.title"))
            continue
        folder, names = common_folder([str(f.path) for f in files])
        # "installed" alone read as ready to use where the library is there but a weights file is not (exit 5)
        state = ["not installed, "] if not installed else ["installed, "] if all(f.present for f in files) else \
            ["installed, ", "files missing, "]
        title = [f"{source.name}: ", *state]
        title += ["in ", *path_phrases(shown(folder))] if folder else ["files:"]
        table = Table()
        table.add_column("file")
        table.add_column("name")
        table.add_column("size MB", justify="right")
        table.add_column("present")
        for f, name in zip(files, names):
            present = "yes" if f.present else "[red]no[/red]"
            if f.present and f.path.suffix == ".h5" and weights.is_random(f.path):
                present = "[yellow]random (benchmarks only)[/yellow]"
            table.add_row(f.role, Phrases(path_phrases(shown(name))), f"{f.size_mb:.2f}" if f.present else "-",
                          present)
        parts += [Phrases(title, style="table.title"), Fitted(table)]
    return parts
