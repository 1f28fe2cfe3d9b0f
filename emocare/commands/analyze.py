"""``emocare analyze``'s body: the photos analysed, each shown as it is done (a table row, a table, or a JSON line),
then the table of photos and the summary."""

from __future__ import annotations

import contextlib
import json
import sys

import typer

from emocare.commands import check_output, check_output_dir, load_settings, stderr_console, stdout_console
from emocare.errors import ConfigError
from emocare.exits import Exit


def analyze(paths, engine, detector, as_json, annotate, max_side, config, details=False, crops=False, jobs=0) -> None:
    from emocare.analyze import Batch, ImageResult, analyze_files, summarize_results, summary_table, workers

    settings, _ = load_settings(config, engine=engine, detector=detector, max_side=max_side)
    if jobs < 0:
        raise ConfigError(f"--jobs {jobs}: use 0 (one per core) or a positive number")
    early, files = _image_files(paths)
    if annotate is not None:
        _check_annotate(annotate, len(early) + len(files))
    out, err = stdout_console(), stderr_console()
    if as_json:  # JSON Lines, one object per image, whatever was given: inputs that failed already first
        for r in early:
            _json_line(r)

    def show(result: ImageResult) -> None:
        if result.error is not None:
            typer.echo(f"emocare: {result.error}", err=True)
        if as_json:
            _json_line(result)
        elif details and result.faces is not None:
            out.print(_image_table(result))

    # progress on stderr only where it cannot tangle with what stdout prints as it goes
    progress_ok = len(files) > 1 and err.is_terminal and not (as_json and out.is_terminal) and not (details and out.is_terminal)
    count = workers(jobs, files)
    with _progress(err, f"analyzing ({count} process{'es' if count > 1 else ''})", len(files), progress_ok) as advance:
        batch = analyze_files(settings, files, jobs=jobs, annotate_dir=annotate, crops=crops,
                              on_result=lambda r: (show(r), advance())) if files else Batch([], 0.0, 1)
    results = early + batch.results
    if not as_json:
        if not details:
            out.print(_images_table(results))
        if len(results) > 1:
            out.print(summary_table(summarize_results(results, batch.wall_s, batch.workers)))
        if annotate is not None:
            from emocare.analyze import annotates_one_file

            what = "annotated image" if annotates_one_file(annotate) else "annotated images"
            err.print(f"{what}: {annotate}", markup=False, highlight=False)
    if any(r.error for r in results):
        raise typer.Exit(Exit.FAILED)


def _check_annotate(annotate, photos: int) -> None:
    """``--annotate``: a folder for the copies, or one .png/.jpg file when one photo is analysed."""
    from emocare.analyze import ANNOTATE_SUFFIXES, annotates_one_file

    if not annotates_one_file(annotate):
        check_output_dir(annotate, "--annotate")
    elif photos != 1:
        raise ConfigError(f"--annotate {annotate}: one image file for {photos} photos; name a folder to annotate "
                          f"several (--annotate {annotate.with_suffix('')}/)")
    else:
        check_output(annotate, ANNOTATE_SUFFIXES, "--annotate")


def _image_files(paths):
    """(results for inputs that failed already, the image files to analyse); each failure is one line now."""
    from emocare.analyze import ImageResult
    from emocare.errors import InputError
    from emocare.sources import expand_paths

    early = []

    def report_error(exc: InputError) -> None:
        early.append(ImageResult(source=exc.path or "?", error=str(exc)))
        typer.echo(f"emocare: {exc}", err=True)

    return early, expand_paths(paths, report_error)  # an empty folder too is reported there, named, exit 1


def _json_line(result) -> None:
    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def _progress(console, description: str, total: int, enabled: bool):
    """A transient progress bar on ``console``; yields the function that advances it by one."""
    from rich.progress import Progress

    with Progress(console=console, transient=True, redirect_stdout=False, redirect_stderr=False,
                  disable=not enabled) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def _images_table(results):
    """One row per image: what a folder of photos looks like at a glance (fits 80 columns). The folder all the
    inputs share is named once in the title and the rows hold the paths below it, so two files of one name in two
    folders stay two rows that can be told apart; a path breaks only after a ``/``, an emotion never mid-way."""
    from rich.console import Group
    from rich.table import Table

    from emocare.sources import shown
    from emocare.tables import Fitted, Phrases, common_folder, listed, path_phrases

    folder, names = common_folder([r.source for r in results])
    title = ["photos"] + ([", ", "in ", *path_phrases(shown(folder))] if folder else [])
    table = Table()
    table.add_column("image")
    table.add_column("faces", justify="right", overflow="fold")
    table.add_column("emotions (confidence)")
    table.add_column("ms", justify="right", overflow="fold")
    for r, name in zip(results, names):
        image = Phrases(path_phrases(shown(name)))  # a file name is text, never markup
        if r.error is not None or r.faces is None:
            table.add_row(image, "-", "[red]failed[/red]", "-")
            continue
        found = Phrases(listed(f"{f.dominant} {f.confidence:.2f}" for f in r.faces) or ["no face found"])
        table.add_row(image, str(len(r.faces)), found, f"{r.faces.ms:.0f}")
    return Group(Phrases(title, style="table.title"), Fitted(table))


def _image_table(result):
    """``--details``: a photo's faces, under a title that breaks only after a ``/`` of its path or before its
    size; the top 3 emotions break only between two of them."""
    from rich.console import Group
    from rich.table import Table

    from emocare.sources import shown
    from emocare.tables import Fitted, Phrases, listed, path_phrases

    faces = result.faces
    about = f"({faces.size[0]}x{faces.size[1]}, {faces.engine}, {faces.ms:.0f} ms)"
    title = Phrases([*path_phrases(shown(result.source) + "  "), about], style="table.title")
    table = Table()
    for col in ("face", "box x,y,w,h", "emotion", "conf"):
        table.add_column(col, overflow="fold")
    table.add_column("top 3")
    if not len(faces):
        table.add_row("-", "-", "no face found", "-", "-")
    for i, face in enumerate(faces, 1):
        top = Phrases(listed(f"{name} {p:.2f}" for name, p in face.top(3)))
        table.add_row(str(i), ",".join(str(v) for v in face.box), face.dominant, f"{face.confidence:.2f}", top)
    return Group(title, Fitted(table))
