"""The command line: a thin shell over the library.

Each command parses options, builds ``Settings``, calls one library function
and renders its result. ``EmocareError`` subclasses map to exit codes here
and nowhere else. Heavy modules (cv2, TensorFlow, deepface, fer) are
imported inside the commands, so ``emocare --help`` is instant.

Exit codes: the table in ``exits.py`` (``Exit``), which every exit here takes
its number from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from emocare import extras
from emocare import window as window_keys
from emocare.engines import registry
from emocare.errors import ConfigError, EmocareError, caused_by_interrupt
from emocare.exits import Exit, describe
from emocare.settings import DEFAULTS, LANGS, TrainPlan

PLAN = TrainPlan()
LANG_CHOICES = " or ".join(LANGS)
PLOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")

EXIT_CODES_HELP = describe(*Exit)


class _PlainHelp:
    """``--help`` as ``emocare.helpfmt`` writes it: plain text that fits the terminal, no word split, no Python type
    names, defaults one way. Typer 0.29 lists its help flag as ``--help <bool>``; it carries no placeholder here."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx, formatter):
        from emocare.helpfmt import render

        formatter.write(render(self, ctx))


class _Group(_PlainHelp, TyperGroup):
    pass


class _Command(_PlainHelp, TyperCommand):
    pass


class _App(typer.Typer):
    """``typer.Typer`` whose group and commands are the classes above."""

    def __init__(self, **kw):
        super().__init__(cls=_Group, **kw)

    def command(self, *args, **kw):
        return super().command(*args, cls=_Command, **kw)


app = _App(
    name="emocare",
    help="emocare: a facial-emotion care companion (emocare's own emotion model, DeepFace's or FER's; a steady mood per person; comfort).\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = _App(help="Emotion models and face detectors: the table (no subcommand), download, import, build-random.", invoke_without_command=True)
voices_app = _App(help="Spoken comfort messages: pre-render them while online.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(voices_app, name="voices")

log = logging.getLogger("emocare")

ConfigOpt = typer.Option(None, "--config", help="TOML config file (default: user config dir; EMOCARE_CONFIG too).", dir_okay=False, metavar="PATH")
EngineOpt = typer.Option(None, "--engine", help=registry.engine_help(), metavar="NAME")
DetectorOpt = typer.Option(None, "--detector", help=f"Face detector: auto (blazeface for the fast path, opencv for the libraries), {', '.join(registry.FAST_DETECTORS)}; the libraries also take their own (fer: mtcnn).", metavar="NAME")


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
    # Library lines that only repeat or garble what emocare says itself, kept for --verbose: playsound3's "No
    # supported audio backends" (emocare's one "no audio output" line says it, and what happens instead), and
    # gTTS's deprecation notice for "zh-CN" (it warns that it falls back to "zh-CN" itself).
    for name in ("playsound3", "gtts.lang"):
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)


def fail(message: str, code: Exit) -> typer.Exit:
    typer.echo(f"emocare: error: {message}", err=True)
    return typer.Exit(code)


def load_settings(config: Optional[Path], **overrides: Any):
    from emocare import settings as settings_mod

    return settings_mod.load(config, overrides)


def _print_version(value: bool) -> None:
    if value:
        from emocare import __version__

        typer.echo(f"emocare {__version__}")
        raise typer.Exit(Exit.OK)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr (and the libraries' own lines).", metavar=""),
          version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                       callback=_print_version, metavar="")) -> None:
    setup_logging(verbose)


def check_output(path: Path, suffixes: tuple[str, ...], option: str) -> None:
    """Fail now, in one line, if ``path`` cannot be written or has a format emocare cannot write."""
    from emocare.errors import OutputError

    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path}: unsupported format {path.suffix or '(none)'} (use {', '.join(suffixes)})")
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with open(path, "ab"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None


def check_output_dir(path: Path, option: str) -> None:
    from emocare.errors import OutputError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot create folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: folder is not writable")


def run_guarded(fn, *args, **kwargs):
    """Call ``fn``; map emocare errors to their exit code and Ctrl-C to 130, with one line and no traceback."""
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise typer.Exit(Exit.INTERRUPTED)  # main() says "interrupted", once, whatever path the Ctrl-C took
    except Exception as exc:
        if caused_by_interrupt(exc):  # Ctrl-C inside a native module's import comes back as an ImportError
            raise typer.Exit(Exit.INTERRUPTED) from None
        if isinstance(exc, EmocareError):
            raise fail(str(exc), exc.exit_code)
        from emocare.extras import from_import_error

        missing = from_import_error(exc, f"emocare {sys.argv[1] if len(sys.argv) > 1 else ''}".strip())
        if missing is not None:  # an optional extra's module, imported where no up-front check looked
            raise fail(str(missing), missing.exit_code) from None
        raise


# ---------------------------------------------------------------- analyze
@app.command(epilog=describe((Exit.OK, "all inputs analyzed (no face is a result)"), Exit.FAILED, (Exit.USAGE, "usage error"),
                             Exit.ENGINE, (Exit.WEIGHTS, "weights missing"), (Exit.INTERRUPTED, "Ctrl-C"),
                             Exit.OUTPUT_CLOSED))
def analyze(
    paths: List[Path] = typer.Argument(..., help="Image files or folders (searched recursively).", exists=False, readable=False),
    engine: Optional[str] = EngineOpt,
    detector: Optional[str] = DetectorOpt,
    as_json: bool = typer.Option(False, "--json", help="Only JSON on stdout: JSON Lines, one object per image (files and folders alike), each as it is done.", metavar=""),
    details: bool = typer.Option(False, "--details", help="A table per image with every face, instead of one row per image.", metavar=""),
    crops: bool = typer.Option(False, "--crops", help="Each image is already a face (FER2013-style crops): no detection.", metavar=""),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Cores for several images: one single-threaded process each (0 = every core).", metavar="N"),
    annotate: Optional[Path] = typer.Option(None, "--annotate", help="Write annotated copies (PNG) into this folder.", file_okay=False, metavar="PATH"),
    max_side: Optional[int] = typer.Option(None, "--max-side", help="Detect on a copy whose longer side is at most this (boxes stay in original pixels).", metavar="N"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Analyze photos: faces, the 7 emotion scores, the dominant emotion; a summary for several."""
    run_guarded(_analyze, paths, engine, detector, as_json, annotate, max_side, config, details, crops, jobs)


def _analyze(paths, engine, detector, as_json, annotate, max_side, config, details=False, crops=False, jobs=0) -> None:
    from emocare.analyze import ImageResult, analyze_files, summarize_results, summary_table, workers

    settings, _ = load_settings(config, engine=engine, detector=detector, max_side=max_side)
    if jobs < 0:
        raise ConfigError(f"--jobs {jobs}: use 0 (one per core) or a positive number")
    early, files = _image_files(paths)
    if annotate is not None:
        check_output_dir(annotate, "--annotate")
    out, err = _stdout_console(), _stderr_console()
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
                              on_result=lambda r: (show(r), advance()))
    results = early + batch.results
    if not as_json:
        if not details:
            out.print(_images_table(results))
        if len(results) > 1:
            out.print(summary_table(summarize_results(results, batch.wall_s, batch.workers)))
        if annotate is not None:
            err.print(f"annotated images: {annotate}", markup=False, highlight=False)
    if any(r.error for r in results):
        raise typer.Exit(Exit.FAILED)


def _image_files(paths):
    """(results for inputs that failed already, the image files to analyse); each failure is one line now."""
    from emocare.analyze import ImageResult
    from emocare.errors import InputError
    from emocare.sources import expand_paths

    early = []

    def report_error(exc: InputError) -> None:
        early.append(ImageResult(source=exc.path or "?", error=str(exc)))
        typer.echo(f"emocare: {exc}", err=True)

    files = expand_paths(paths, report_error)
    if not files and not early:
        raise InputError(f"{', '.join(map(str, paths))}: no image files found")
    return early, files


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
    """One row per image: what a folder of photos looks like at a glance (fits 80 columns)."""
    from rich.table import Table

    table = Table(title="photos", title_justify="left")
    table.add_column("image", overflow="fold")
    table.add_column("faces", justify="right", overflow="fold")
    table.add_column("emotions (confidence)", overflow="fold")
    table.add_column("ms", justify="right", overflow="fold")
    from rich.markup import escape

    from emocare.sources import shown

    for r in results:
        name = escape(shown(Path(r.source).name))  # a file name is text, never markup
        if r.error is not None or r.faces is None:
            table.add_row(name, "-", "[red]failed[/red]", "-")
            continue
        found = ", ".join(f"{f.dominant} {f.confidence:.2f}" for f in r.faces) or "no face found"
        table.add_row(name, str(len(r.faces)), found, f"{r.faces.ms:.0f}")
    return table


def _image_table(result):
    from rich.table import Table

    from rich.markup import escape

    from emocare.sources import shown

    faces = result.faces
    title = f"{escape(shown(result.source))}  ({faces.size[0]}x{faces.size[1]}, {faces.engine}, {faces.ms:.0f} ms)"
    table = Table(title=title, title_justify="left")
    for col in ("face", "box x,y,w,h", "emotion", "conf", "top 3"):
        table.add_column(col, overflow="fold")
    if not len(faces):
        table.add_row("-", "-", "no face found", "-", "-")
    for i, face in enumerate(faces, 1):
        top = ", ".join(f"{name} {p:.2f}" for name, p in face.top(3))
        table.add_row(str(i), ",".join(str(v) for v in face.box), face.dominant, f"{face.confidence:.2f}", top)
    return table


# ---------------------------------------------------------------- watch
@app.command(epilog=window_keys.keys_summary() + " " + describe(
    Exit.OK, (Exit.USAGE, "usage"), (Exit.SOURCE, "camera/stream unavailable or lost"), Exit.ENGINE,
    (Exit.WEIGHTS, "weights missing"), (Exit.INTERRUPTED, "Ctrl-C")))
def watch(
    camera: Optional[int] = typer.Option(None, "--camera", help=f"Camera index (default {DEFAULTS.camera}).", metavar="N"),
    source: Optional[str] = typer.Option(None, "--source", help="A video file or an RTSP/HTTP stream URL instead of a camera (a photo: emocare analyze).", metavar="TEXT"),
    fast: bool = typer.Option(False, "--fast", help="Video files: analyze every frame as fast as possible (media time in the journal).", metavar=""),
    size: Optional[str] = typer.Option(None, "--size", help=f"Requested camera resolution (default {DEFAULTS.size}).", metavar="TEXT"),
    no_window: bool = typer.Option(False, "--no-window", help="Headless: no window.", metavar=""),
    record: Optional[Path] = typer.Option(None, "--record", help="Write the annotated video to this .mp4.", dir_okay=False, metavar="PATH"),
    journal: Optional[Path] = typer.Option(None, "--journal", help="Journal file (.jsonl; an existing one gets this session appended); default: a new timestamped file in the user data dir.", dir_okay=False, metavar="PATH"),
    list_cameras: bool = typer.Option(False, "--list-cameras", help="List the cameras that open, then exit.", metavar=""),
    stats: bool = typer.Option(False, "--stats", help="Show the display and analysis FPS in the window's header, and print them with latency percentiles at exit.", metavar=""),
    reconnect_timeout: Optional[float] = typer.Option(None, "--reconnect-timeout", help=f"Seconds to keep reconnecting a lost camera/stream (default {DEFAULTS.reconnect_timeout_s:g}).", metavar="SECONDS"),
    stream_timeout: Optional[float] = typer.Option(None, "--stream-timeout", help=f"Seconds to wait for a stream to open, and for each frame (default {DEFAULTS.stream_timeout_s:g}).", metavar="SECONDS"),
    engine: Optional[str] = EngineOpt,
    detector: Optional[str] = DetectorOpt,
    window_s: Optional[float] = typer.Option(None, "--window", help=f"Rolling window in seconds (default {DEFAULTS.window_s:g}).", metavar="SECONDS"),
    hold_s: Optional[float] = typer.Option(None, "--hold", help=f"Seconds a new mood must lead before it is adopted (default {DEFAULTS.hold_s:g}).", metavar="SECONDS"),
    care: Optional[str] = typer.Option(None, "--care", help=f"Whom care acts for: primary (the largest face, 'main' in the status line) or all (default {DEFAULTS.care}).", metavar="TEXT"),
    persist: Optional[float] = typer.Option(None, "--persist", help=f"Seconds of negative mood before comforting (default {DEFAULTS.persist_s:g}).", metavar="SECONDS"),
    cooldown: Optional[float] = typer.Option(None, "--cooldown", help=f"Seconds between comforts (default {DEFAULTS.cooldown_s:g}).", metavar="SECONDS"),
    quiet: Optional[bool] = typer.Option(None, "--quiet/--no-quiet", help="Visual comfort only: no sound, no speech, and no status line in the terminal.", metavar=""),
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Comfort language: {LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR (write the sounds it would play into DIR).", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Watch a camera or video live: steady mood per person, overlay window, journal, comfort."""
    if list_cameras:
        from emocare.sources import list_cameras as probe

        found = probe()
        if not found:
            typer.echo("no camera found (checked /dev/video0-9)", err=True)
            raise typer.Exit(Exit.SOURCE)
        for index, name in found:
            typer.echo(f"{index}: {name}")
        return
    if camera is not None and source is not None:
        raise fail("--camera and --source cannot be used together", Exit.USAGE)
    from emocare.interrupts import one_interrupt

    with one_interrupt():  # a second Ctrl-C (timeout -s INT sends two) waits for the end line and the summary
        code = run_guarded(_watch, camera, source, fast, size, no_window, record, journal, stats, config,
                           dict(engine=engine, detector=detector, window_s=window_s, hold_s=hold_s, care=care,
                                persist_s=persist, cooldown_s=cooldown, quiet=quiet, lang=lang, audio=audio, size=size,
                                camera=camera, reconnect_timeout_s=reconnect_timeout, stream_timeout_s=stream_timeout))
    if code:
        raise typer.Exit(code)


def _watch(camera, source, fast, size, no_window, record, journal_path, stats, config, overrides) -> int:
    from platformdirs import user_data_dir

    from emocare import watch as watch_lib
    from emocare.report import summarize, tables
    from emocare.status import StatusLine

    settings, _ = load_settings(config, **overrides)
    err = _stderr_console()
    if record is not None:
        check_output(record, (".mp4", ".avi", ".mkv", ".mov"), "--record")
    request = watch_lib.WatchRequest(source=source, fast=fast, show_window=not no_window, record=record,
                                     journal=journal_path, snapshot_dir=Path(user_data_dir("emocare")) / "snapshots",
                                     stats=stats)
    # a live line on a terminal, a line per mood change or care action elsewhere; nothing with --quiet
    sinks = [] if settings.quiet else [StatusLine(err, live=err.is_terminal)]
    run = watch_lib.run(settings, request, sinks,
                        on_journal=lambda path: err.print(f"journal: {path}", markup=False, highlight=False))
    if run.journal_error is not None:
        typer.echo(f"emocare: error: {run.journal_error}", err=True)
        return run.result.exit_code
    for table in tables(summarize(run.records)):
        err.print(table)
    if run.result.snapshots:
        err.print(f"snapshots: {run.result.snapshots[0].parent}", markup=False, highlight=False)
    if stats:
        err.print(run.result.stats_text())
    err.print(f"journal: {run.journal}", markup=False, highlight=False)
    if run.result.reason == "source lost":
        typer.echo(f"emocare: error: {run.label}: lost and did not come back; the journal is complete up to then", err=True)
    for problem in run.result.problems:  # a damaged video read in part, a recording the disk did not take
        typer.echo(f"emocare: error: {problem}", err=True)
    return run.result.exit_code or (1 if run.result.problems else 0)


# ---------------------------------------------------------------- serve
@app.command(epilog=describe(Exit.OK, (Exit.FAILED, "cannot listen on --host/--port"), Exit.USAGE,
                             (Exit.SOURCE, "camera/stream unavailable or lost"), Exit.ENGINE, (Exit.WEIGHTS, "weights missing"),
                             (Exit.INTERRUPTED, "Ctrl-C (how it is stopped)")))
def serve(
    camera: Optional[int] = typer.Option(None, "--camera", help=f"Camera index (default {DEFAULTS.camera}).", metavar="N"),
    source: Optional[str] = typer.Option(None, "--source", help="A video file or an RTSP/HTTP stream URL instead of a camera.", metavar="TEXT"),
    no_camera: bool = typer.Option(False, "--no-camera", help="Watch nothing: serve the history and settings pages only.", metavar=""),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs the token printed at start on every page and stream.", metavar="ADDRESS"),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0: a free one).", metavar="N"),
    window: bool = typer.Option(False, "--window", help="Also show the OpenCV window (off under serve).", metavar=""),
    history: Optional[List[Path]] = typer.Option(None, "--history", help="More journals, or folders of them, for the history page (besides the user data folder's). Repeatable.", metavar="PATH"),
    max_viewers: int = typer.Option(24, "--max-viewers", help="Browsers that may watch the live page at once (each holds a video and an event stream).", metavar="N"),
    fast: bool = typer.Option(False, "--fast", help="Video files: analyze every frame as fast as possible.", metavar=""),
    size: Optional[str] = typer.Option(None, "--size", help=f"Requested camera resolution (default {DEFAULTS.size}).", metavar="TEXT"),
    record: Optional[Path] = typer.Option(None, "--record", help="Write the annotated video to this .mp4.", dir_okay=False, metavar="PATH"),
    journal: Optional[Path] = typer.Option(None, "--journal", help="This session's journal (.jsonl), shown in the history too; default: a new timestamped file in the user data dir.", dir_okay=False, metavar="PATH"),
    reconnect_timeout: Optional[float] = typer.Option(None, "--reconnect-timeout", help=f"Seconds to keep reconnecting a lost camera/stream (default {DEFAULTS.reconnect_timeout_s:g}).", metavar="SECONDS"),
    stream_timeout: Optional[float] = typer.Option(None, "--stream-timeout", help=f"Seconds to wait for a stream to open, and for each frame (default {DEFAULTS.stream_timeout_s:g}).", metavar="SECONDS"),
    engine: Optional[str] = EngineOpt,
    detector: Optional[str] = DetectorOpt,
    persist: Optional[float] = typer.Option(None, "--persist", help=f"Seconds of negative mood before comforting (default {DEFAULTS.persist_s:g}).", metavar="SECONDS"),
    cooldown: Optional[float] = typer.Option(None, "--cooldown", help=f"Seconds between comforts (default {DEFAULTS.cooldown_s:g}).", metavar="SECONDS"),
    quiet: Optional[bool] = typer.Option(None, "--quiet/--no-quiet", help="Visual comfort only: no sound, no speech, and no status line in the terminal.", metavar=""),
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Comfort and page language: {LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR (write the sounds it would play into DIR).", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """The companion as local web pages: live video, moods and comfort; history by day; settings and messages."""
    if camera is not None and source is not None:
        raise fail("--camera and --source cannot be used together", Exit.USAGE)
    if no_camera and (camera is not None or source is not None or fast or record is not None or window):
        raise fail("--no-camera serves the history and settings only: it takes no --camera, --source, --fast, --record or --window", Exit.USAGE)
    code = run_guarded(_serve, source, fast, no_camera, window, host, port, history or [], max_viewers, record, journal,
                       config, dict(engine=engine, detector=detector, persist_s=persist, cooldown_s=cooldown, quiet=quiet,
                                    lang=lang, audio=audio, size=size, camera=camera,
                                    reconnect_timeout_s=reconnect_timeout, stream_timeout_s=stream_timeout))
    if code:
        raise typer.Exit(code)


def _serve(source, fast, no_camera, window, host, port, history, max_viewers, record, journal_path, config,
           overrides) -> int:
    from platformdirs import user_data_dir

    from emocare import watch as watch_lib
    from emocare.report import summarize, tables
    from emocare.status import StatusLine
    from emocare.web.server import ServeOptions, serve as serve_pages

    settings, _ = load_settings(config, **overrides)
    if not 1 <= max_viewers <= 200:
        raise ConfigError(f"--max-viewers {max_viewers}: use 1 to 200")
    for p in history:
        if not p.exists():
            raise ConfigError(f"--history {p}: no such file or folder")
    if record is not None:
        check_output(record, (".mp4", ".avi", ".mkv", ".mov"), "--record")
    snapshots = Path(user_data_dir("emocare")) / "snapshots"
    request = None if no_camera else watch_lib.WatchRequest(source=source, fast=fast, show_window=window, record=record,
                                                            journal=journal_path, snapshot_dir=snapshots)
    options = ServeOptions(host=host, port=port, max_streams=2 * max_viewers, history=tuple(history), config=config,
                           overrides={k: v for k, v in overrides.items() if v is not None})
    err = _stderr_console()

    def ready(server) -> None:
        typer.echo(f"emocare serve: {server.url}")
        if server.token:
            err.print("the token in this address is needed for every page and stream (anyone who can reach this "
                      "machine could watch otherwise)", highlight=False)
        err.print("Ctrl-C stops it", highlight=False)

    def watched(run) -> None:
        if run.journal_error is not None:
            typer.echo(f"emocare: error: {run.journal_error}", err=True)
            return
        for table in tables(summarize(run.records)):
            err.print(table)
        err.print(f"journal: {run.journal}")
        if run.result.reason == "source lost":
            typer.echo(f"emocare: error: {run.label}: lost and did not come back; the journal is complete up to then", err=True)
        if run.result.reason != "interrupted":
            err.print("the source has ended; the pages stay up until Ctrl-C", highlight=False)

    sinks = [] if settings.quiet or request is None else [StatusLine(err, live=err.is_terminal)]
    run = serve_pages(settings, request, options, sinks=sinks, on_ready=ready, on_watched=watched,
                      on_journal=lambda path: err.print(f"journal: {path}"))
    return run.result.exit_code if run is not None else 0


# ---------------------------------------------------------------- report
@app.command()
def report(
    journal: Optional[Path] = typer.Argument(None, help="A journal (.jsonl) written by 'emocare watch' (default: the latest in the user data dir).", metavar="JOURNAL"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Draw the mood timeline into this PNG.", dir_okay=False, metavar="PATH"),
) -> None:
    """Summarize a session journal: time in each mood per person, changes per minute, care events."""
    run_guarded(_report, journal, plot)


def _report(journal: Optional[Path], plot_path: Optional[Path]) -> None:
    from emocare import journal as journal_mod
    from emocare.report import plot, summarize, tables

    if plot_path is not None:
        extras.require("plot", "emocare report --plot")
        check_output(plot_path, PLOT_SUFFIXES, "--plot")
    if journal is None:
        journal = journal_mod.latest_journal()
        _stderr_console().print(f"journal: {journal}", highlight=False, soft_wrap=True, markup=False)
    runs = journal_mod.sessions(journal_mod.read(journal))
    if not runs:
        raise EmocareError(f"{journal}: empty journal")
    records = runs[-1]
    console = _stdout_console()
    if len(runs) > 1:  # each session after the first begins with its start line
        started = getattr(records[0], "started", None)
        console.print(f"{journal}: {len(runs)} sessions; this is the last one (started {'?' if started is None else started})",
                      markup=False, highlight=False)
    for table in tables(summarize(records)):
        console.print(table)
    if plot_path is not None:
        plot(records, plot_path)
        console.print(f"plot: {plot_path}", markup=False, highlight=False)


# ---------------------------------------------------------------- say / voices
@app.command()
def say(
    text: str = typer.Argument(..., help="What to say.", metavar="TEXT"),
    lang: Optional[str] = typer.Option(None, "--lang", help=f"{LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR.", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Speak a line (gTTS, cached; local TTS offline) to test your audio setup."""
    run_guarded(_say, text, lang, audio, config)


def _say(text, lang, audio, config) -> None:
    from emocare.care.sound import Player
    from emocare.care.speech import Speech

    settings, _ = load_settings(config, lang=lang, audio=audio)
    rendered = Speech().render(text, settings.language)
    if rendered.path is None:
        raise EmocareError("no speech available: gTTS is unreachable and no local TTS is installed (apt-get install espeak-ng)")
    player = Player(settings.audio, without_audio="nothing was played (the speech stays in its file)")
    where = player.play(rendered.path, f"say-{settings.language}")
    player.wait(timeout=120)
    if where is None:  # --audio none, or no audio output (which the player has said, once)
        typer.echo(f"not played; speech via {rendered.via}: {rendered.path}")
    else:
        typer.echo(f"spoken via {rendered.via}: {rendered.path}" + (f" -> {where}" if where != rendered.path else ""))


@voices_app.command("cache")
def voices_cache(
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Only this language ({LANG_CHOICES}); default all.", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Pre-render every comfort message with gTTS while online, so they are spoken offline later."""
    run_guarded(_voices_cache, lang, config)


def _voices_cache(lang, config) -> None:
    from rich.progress import track

    from emocare.care.messages import Messages
    from emocare.care.speech import Speech

    settings, _ = load_settings(config)
    speech = Speech(retry_after_s=1e9)
    items = [(t, lg) for t, lg in Messages(settings.messages).all() if lang is None or lg == lang]
    via: dict[str, int] = {}
    for text, lg in track(items, description="rendering", console=_stderr_console()):
        r = speech.render(text, lg, prefer_online=True)
        via[r.via] = via.get(r.via, 0) + 1
    typer.echo(f"{len(items)} messages in {speech.cache_dir}: " + ", ".join(f"{n} via {k}" for k, n in sorted(via.items())))
    if "gtts" not in via and "cache" not in via:
        typer.echo("emocare: warning: gTTS was unreachable; messages were rendered with the local TTS instead", err=True)


# ---------------------------------------------------------------- bench
@app.command(epilog="Without arguments: a quick speed comparison on a sample clip shipped with emocare. " + describe(
    Exit.OK, (Exit.FAILED, "bad input"), (Exit.USAGE, "usage"), (Exit.WEIGHTS, "weights missing (--pipeline)"),
    (Exit.INTERRUPTED, "Ctrl-C"), Exit.OUTPUT_CLOSED))
def bench(
    engines: Optional[str] = typer.Option(None, "--engines", help="Comma-separated, from: " + ", ".join(registry.names(choosable=False)) + " (default: all).", metavar="TEXT"),
    detector: str = typer.Option("auto", "--detector", help=f"Face detector of emocare's fast-path engines: auto (blazeface), {' or '.join(registry.FAST_DETECTORS)}.", metavar="TEXT"),
    faces_videos: Optional[list[Path]] = typer.Option(None, "--faces-videos", help="Detector report: videos (or folders of them) where every frame holds a face; found-rate per detector. Repeatable.", metavar="PATH"),
    no_face: Optional[list[Path]] = typer.Option(None, "--no-face", help="Detector report: videos, images or folders with no face; false faces per detector. Repeatable.", metavar="PATH"),
    sessions: Optional[list[Path]] = typer.Option(None, "--sessions", help="Care report: session videos with NAME.truth.csv beside each (or folders of them), watched as 'watch --fast' does; comfort when due and when not, mood changes per minute, per engine (default: emocare's fast-path engines). Repeatable.", metavar="PATH"),
    video: Optional[Path] = typer.Option(None, "--video", help="Frames for the speed test from this video (default: the shipped sample clip).", metavar="PATH"),
    images: Optional[Path] = typer.Option(None, "--images", help="Frames for the speed test from this folder of images.", metavar="PATH"),
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="Labelled set for accuracy: <label>/ folders or a CSV of path,label.", metavar="PATH"),
    crops: bool = typer.Option(False, "--crops", help="Dataset images are already-cropped faces (FER2013 style): no detection.", metavar=""),
    votes: Optional[Path] = typer.Option(None, "--votes", help="FER+ votes for the dataset's faces (CSV: path, then the ten FER+ counts): also score each engine against what ten annotators saw.", dir_okay=False, metavar="CSV"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use N dataset images, drawn with --seed.", metavar="N"),
    seed: int = typer.Option(0, "--seed", help="Random seed that draws the --limit dataset images.", metavar="N"),
    repeat: int = typer.Option(3, "--repeat", help="Speed loops per engine; the median run is reported.", metavar="N"),
    no_speed: bool = typer.Option(False, "--no-speed", help="Accuracy only.", metavar=""),
    pipeline: bool = typer.Option(False, "--pipeline", help="The real-time comparison: DeepFace.analyze and FER loops vs emocare's pipeline, in one process.", metavar=""),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure (and machine info) to this JSON file.", dir_okay=False, metavar="PATH"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Bar charts and confusion matrices into this PNG.", dir_okay=False, metavar="PATH"),
) -> None:
    """Compare FER and DeepFace (and emocare's fast path): speed, accuracy, memory, size; comfort on care sessions."""
    run_guarded(_bench, engines, video, images, dataset, crops, limit, seed, repeat, no_speed, pipeline, json_out, plot,
                detector, faces_videos or [], no_face or [], sessions or [], votes)


def _bench(engines, video, images, dataset, crops, limit, seed, repeat, no_speed, pipeline, json_out, plot_path,
           detector="auto", faces_videos=(), no_face=(), sessions=(), votes=None) -> None:
    extras.require("lab", "emocare bench")
    from emocare.lab import bench as bench_mod

    if video is not None and images is not None:
        raise ConfigError("--video and --images cannot be used together")
    for p in (video, images, dataset, votes, *faces_videos, *no_face):
        if p is not None and not p.exists():
            raise EmocareError(f"{p}: no such file or folder")
    if votes is not None and dataset is None:
        raise ConfigError("--votes goes with --dataset DIR (the faces the votes describe)")
    if plot_path is not None:
        check_output(plot_path, PLOT_SUFFIXES, "--plot")
    if json_out is not None:
        check_output(json_out, (".json",), "--json")
    if detector not in ("auto", *bench_mod.DETECTORS):
        raise ConfigError(f"--detector {detector!r}: choose auto, {', '.join(bench_mod.DETECTORS)}")
    if sessions:
        data = _bench_sessions(sessions, engines, detector)
    elif faces_videos or no_face:
        data = _bench_detectors(faces_videos, no_face)
    elif pipeline:
        data = _bench_pipeline(video, repeat, detector)
    else:
        names = [n.strip() for n in engines.split(",")] if engines else list(bench_mod.ENGINES)
        unknown = [n for n in names if n not in bench_mod.ENGINES]
        if unknown:
            raise ConfigError(f"--engines: unknown {', '.join(unknown)} (choose from {', '.join(bench_mod.ENGINES)})")
        if no_speed and dataset is None:
            raise ConfigError("--no-speed needs --dataset")
        data = _bench_engines(names, plot_path, video=video, images=images, dataset=dataset, crops=crops, limit=limit,
                              seed=seed, repeat=repeat, speed=not no_speed, detector=detector, votes=votes)
    if json_out is not None:
        json_out.write_text(json.dumps(data, indent=2) + "\n")
        _stderr_console().print(f"json: {json_out}")


def _bench_detectors(faces_videos, no_face) -> dict:
    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report

    with _stderr_console().status("running each detector...") as status:
        result = bench_mod.run_detectors(faces_videos, no_face, on_step=lambda k: status.update(f"detecting: {k}"))
    for table in bench_report.detector_tables(result):
        _stdout_console().print(table)
    return {"machine": bench_mod.machine_info(), "detectors": result.to_json()}


def _bench_sessions(paths, engines, detector) -> dict:
    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report, bench_sessions

    videos = bench_sessions.session_videos(paths)
    names = [n.strip() for n in engines.split(",")] if engines else bench_mod.session_engines()
    unknown = [n for n in names if n not in registry.names()]
    if unknown:
        raise ConfigError(f"--engines: {', '.join(unknown)} cannot watch (choose from {', '.join(registry.names())})")
    settings, _ = load_settings(None, detector=detector)
    with _stderr_console().status("watching the sessions...") as status:
        result = bench_sessions.run_sessions(videos, names, settings,
                                             on_step=lambda what, done, total: status.update(f"{done + 1}/{total} {what}"))
    for table in bench_report.sessions_tables(result):
        _stdout_console().print(table)
    return {"machine": bench_mod.machine_info(), "care_sessions": result.to_json()}


def _bench_pipeline(video, repeat, detector) -> dict:
    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report

    with _stderr_console().status("running the five loops (DeepFace.analyze, FER, emocare x3)...") as status:
        result = bench_mod.run_pipeline(video, repeat=repeat, detector=detector,
                                        on_step=lambda k: status.update(f"timing {k}..."))
    _stdout_console().print(bench_report.pipeline_table(result))
    return {"machine": bench_mod.machine_info(), "pipeline": result.to_json()}


def _bench_engines(names, plot_path, **options) -> dict:
    from rich.progress import Progress

    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report
    from emocare.errors import ModelMissing

    err = _stderr_console()
    no_weights = bench_mod.needing_missing_weights(names)
    if no_weights:  # said once, here; bench.run records them as not run, and the tables leave them out
        if len(no_weights) == len(names):
            from emocare.engines import weights

            raise ModelMissing(weights.missing_message())
        typer.echo(f"{', '.join(no_weights)}: left out, they need DeepFace's weights "
                   "('emocare models download' online, or 'emocare models import FILE')", err=True)
    todo = [n for n in names if n not in no_weights]
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("benchmarking", total=len(todo))
        inner = progress.add_task("", total=1)

        def step(name):
            progress.update(task, description=f"benchmarking {name}", completed=todo.index(name))
            progress.update(inner, description=f"{name}: starting", completed=0, total=1)

        def detail(what, done, total):
            progress.update(inner, description=what, completed=done, total=max(1, total))

        report = bench_mod.run(names, on_engine=step, on_progress=detail, **options)
    for table in bench_report.tables(report):
        _stdout_console().print(table)
    if plot_path is not None:
        bench_report.plot(report, plot_path)
        err.print(f"plot: {plot_path}")
    return report.to_json()


# ---------------------------------------------------------------- train
MIRROR = {"auto": None, "on": True, "off": False}  # --mirror: None = chosen on val

@app.command(epilog=describe((Exit.OK, "trained"), (Exit.FAILED, "unreadable data"), (Exit.USAGE, "usage"),
                             (Exit.INTERRUPTED, "Ctrl-C (the last finished epoch is kept: rerun with --resume)")))
def train(
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="Training faces: <label>/ folders (FER2013's Kaggle export) or a CSV of path,label (needed unless --average).", metavar="PATH"),
    val: Path = typer.Option(..., "--val", help="Validation faces, same layout: they pick the best epoch, decide when to stop, and tune how sure the model's scores are.", metavar="PATH"),
    out: Path = typer.Option(..., "--out", help="The model to write (.tflite; a .json description is written beside it).", dir_okay=False, metavar="PATH"),
    epochs: int = typer.Option(PLAN.epochs, "--epochs", help="Epochs planned (the learning rate decays over them).", metavar="N"),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from its last checkpoint.", metavar=""),
    batch_size: int = typer.Option(PLAN.batch_size, "--batch-size", help="Faces per training step.", metavar="N"),
    patience: int = typer.Option(PLAN.patience, "--patience", help="Stop after this many epochs without a better validation accuracy.", metavar="N"),
    seed: int = typer.Option(PLAN.seed, "--seed", help="Random seed: the order of the faces, their augmentation and the first weights.", metavar="N"),
    lr: float = typer.Option(PLAN.lr, "--lr", help="Peak learning rate (warm-up, then cosine decay); lower it to fine-tune from --init.", metavar="RATE"),
    checkpoints: Optional[Path] = typer.Option(None, "--checkpoints", help="Checkpoint folder (default: OUT with .ckpt instead of .tflite).", file_okay=False, metavar="PATH"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N faces of each split (a quick trial).", metavar="N"),
    average: Optional[List[Path]] = typer.Option(None, "--average", help="Instead of training: one model averaging these finished runs (their checkpoint folders; repeat the option).", file_okay=False, metavar="CKPT"),
    teacher: Optional[List[Path]] = typer.Option(None, "--teacher", help="Learn from a teacher: each training face's label is mixed with what the teacher reads on it. The teacher is an emocare model (.tflite, for example runs averaged with --average) or finished runs' checkpoint folders (repeat the option; their answers are averaged). One network learns what they know.", metavar="MODEL|CKPT"),
    distill: float = typer.Option(PLAN.distill, "--distill", help="With --teacher: the teacher's weight in each training label (0 to 1).", metavar="W"),
    teacher_views: int = typer.Option(PLAN.teacher_views, "--teacher-views", help="With --teacher CKPT: before training, the teachers also read this many altered copies of each face (turned, zoomed and shifted, each with its mirror image); training then uses those copies with the teachers' answers instead of altering faces afresh.", metavar="K"),
    teacher_temperature: float = typer.Option(PLAN.teacher_temperature, "--teacher-temperature", help="With --teacher: make the teachers' answers less sure (above 1) or surer (below 1) before they are mixed in.", metavar="T"),
    arch: str = typer.Option(PLAN.arch, "--arch", help="The network: small (the shipped one's size, fast on a CPU), wide (it with 1.25x the channels past the first block: --init small widens), or a bigger network to train as a teacher for --teacher: vgg (4.7 M weights), vgg10 (7.6 M) or resnet18 (6.3 M).", metavar="NAME"),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from a finished run's best network (its checkpoint folder; a small one starts a wide one), or from an exported model's (.tflite, for example the shipped emocare/models/emotion.tflite: fine-tuning).", metavar="CKPT|MODEL"),
    merge: str = typer.Option("outputs", "--merge", help="With --average: average the runs' outputs (each network runs) or their weights (one network's cost; for runs fine-tuned from one --init).", metavar="outputs|weights"),
    mirror: str = typer.Option("auto", "--mirror", help="Also read each face's mirror image: auto (when it wins by half a point on val), on, or off (it doubles the model's time).", metavar="auto|on|off"),
    votes: Optional[Path] = typer.Option(None, "--votes", help="FER+ votes for the training faces (CSV: path, then the ten FER+ counts): learn what ten annotators saw, not the folder label.", dir_okay=False, metavar="CSV"),
    val_votes: Optional[Path] = typer.Option(None, "--val-votes", help="FER+ votes for the validation faces: the best epoch, and how the model's scores are tuned, are chosen against them.", dir_okay=False, metavar="CSV"),
    labels: str = typer.Option(PLAN.labels, "--labels", help="With --votes: soft (each face's vote distribution) or majority (its most-voted emotion).", metavar="soft|majority"),
    class_weights: bool = typer.Option(PLAN.class_weights, "--class-weights/--no-class-weights", help="Weigh each face by 1/sqrt(its class's count), so rare emotions count more."),
    force: bool = typer.Option(False, "--force", help="Start afresh in a checkpoint folder that holds an earlier run (its files are kept in previous/)."),
) -> None:
    """Train emocare's emotion model (CPU or GPU); use it with --engine emocare after copying, or EMOCARE_MODEL=OUT."""
    run_guarded(_train, dataset, val, out, epochs, resume, batch_size, patience, seed, checkpoints, limit, average or [], mirror,
                teacher or [], init, lr, distill, arch, merge, teacher_views, teacher_temperature, votes, val_votes, labels,
                class_weights, force)


def _train(dataset, val, out, epochs, resume, batch_size, patience, seed, checkpoints, limit, average=(), mirror="auto",
           teacher=(), init=None, lr=PLAN.lr, distill=PLAN.distill, arch=PLAN.arch, merge="outputs",
           teacher_views=PLAN.teacher_views, teacher_temperature=PLAN.teacher_temperature, votes=None, val_votes=None,
           labels=PLAN.labels, class_weights=PLAN.class_weights, force=False) -> None:
    extras.require("lab", "emocare train")
    from emocare.lab.train import MERGES, average_runs, train as train_model

    if dataset is None and not average:
        raise ConfigError("--dataset is needed (or --average CKPT ... to average finished runs)")
    if mirror not in MIRROR:
        raise ConfigError(f"--mirror: expected auto, on or off, got {mirror!r}")
    if merge != "outputs" and not average:
        raise ConfigError("--merge goes with --average CKPT ...")
    for option, p in (("--dataset", dataset), ("--val", val), *(("--average", a) for a in average),
                      *(("--teacher", t) for t in teacher), ("--init", init), ("--votes", votes), ("--val-votes", val_votes)):
        if p is not None and not p.exists():
            raise EmocareError(f"{option} {p}: not found")
    if average:
        result = average_runs(list(average), val, out, on_line=lambda line: typer.echo(line, err=True), mirror=MIRROR[mirror],
                              merge=merge, val_votes=val_votes)
        m = result.metrics
        typer.echo(f"{result.model}: {len(average)} run{'s' if len(average) > 1 else ''} {MERGES[merge]}; val accuracy {m['accuracy']:.1%}, "
                   f"balanced {m['balanced_accuracy']:.1%}, ECE {m['ece']:.3f}")
        return
    plan = TrainPlan(epochs=epochs, batch_size=batch_size, patience=patience, seed=seed, lr=lr, distill=distill, arch=arch,
                     teacher_views=teacher_views, teacher_temperature=teacher_temperature, labels=labels,
                     class_weights=class_weights)
    result = train_model(dataset, val, out, plan=plan, resume=resume, checkpoints=checkpoints, limit=limit, mirror=MIRROR[mirror],
                         teacher=list(teacher) or None, init=init, votes=votes, val_votes=val_votes, force=force,
                         on_line=lambda line: typer.echo(line, err=True), progress_bar=sys.stderr.isatty())
    m = result.metrics
    typer.echo(f"{result.model}: best epoch {result.best_epoch} of {result.epochs_run}, {result.seconds / 60:.1f} min on "
               f"{result.device}; val accuracy {m['accuracy']:.1%}, balanced {m['balanced_accuracy']:.1%}, "
               f"ECE {m['ece']:.3f}")


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
    _stdout_console().print(table)
    if not weights.emotion_weights_present():
        typer.echo("DeepFace's weights are optional: without them --engine auto uses emocare's own model. "
                   + weights.missing_message(), err=True)


@models_app.command("download")
def models_download() -> None:
    """Fetch DeepFace's emotion weights (needs the network)."""
    from emocare.engines import weights

    run_guarded(extras.require, "deepface", "emocare models download")  # h5py checks what was downloaded
    path = run_guarded(weights.download_weights)
    typer.echo(f"downloaded {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {weights.sha256(path)[:16]}...)")


@models_app.command("build-random")
def models_build_random(seed: int = typer.Option(0, "--seed", help="Random seed the weights are drawn with.", metavar="N")) -> None:
    """Write DeepFace's emotion architecture with RANDOM weights (benchmarks and tests only: emotions mean nothing).

    Put it in a folder of its own: DEEPFACE_HOME=/tmp/df-random emocare models build-random
    """
    from emocare.engines import weights

    run_guarded(extras.require, "deepface", "emocare models build-random")
    path = weights.emotion_weights_path()
    if path.exists() and not weights.is_random(path):
        raise fail(f"{path} holds real weights; set DEEPFACE_HOME to another folder for random ones", Exit.FAILED)
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():  # TensorFlow's start-up and CUDA probe lines stay off the terminal (replayed on failure)
        run_guarded(weights.build_random_emotion_weights, path, seed)
    typer.echo(f"random weights (for speed benchmarks only): {path}")


@models_app.command("import")
def models_import(file: Path = typer.Argument(..., help="A facial_expression_model_weights.h5 you already have.")) -> None:
    """Copy a weights file into the folder DeepFace reads (for offline machines)."""
    from emocare.engines import weights

    run_guarded(extras.require, "deepface", "emocare models import")  # h5py checks the file
    path = run_guarded(weights.import_weights, file)
    typer.echo(f"imported {file} -> {path}")


# ---------------------------------------------------------------- config
@app.command("config")
def config_cmd(config: Optional[Path] = ConfigOpt) -> None:
    """Print the effective settings (TOML) and where each value came from."""
    from emocare import settings as settings_mod

    s, origin = run_guarded(load_settings, config)
    path = settings_mod.config_path(config)
    typer.echo(f"# config file: {path}{'' if Path(path).is_file() else ' (not present)'}")
    typer.echo(settings_mod.to_toml(s, origin), nl=False)


def main() -> None:
    """Run the app; usage errors are one line (not Typer's box), exit codes as documented."""
    from typer._click import exceptions as cx  # Typer 0.29 vendors Click: its own exception types

    stdout_was = _file_identity(1)
    try:
        code = app(standalone_mode=False)
    except SystemExit:
        if _reader_gone(stdout_was):  # Typer and Rich answer EPIPE with exit 1, which here means "inputs failed"
            sys.exit(Exit.OUTPUT_CLOSED)
        raise
    except cx.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else "emocare --help")
        sys.exit(Exit.OK)
    except cx.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        typer.echo(f"emocare: error: {where}{exc.format_message()}", err=True)
        sys.exit(Exit.USAGE)
    except cx.ClickException as exc:
        typer.echo(f"emocare: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)  # Click's own number for what it raises: 1 (Exit.FAILED), as usage errors are 2
    except typer.Exit as exc:
        code = exc.exit_code
    except ConfigError as exc:  # raised before a command could map it
        typer.echo(f"emocare: error: {exc}", err=True)
        sys.exit(Exit.USAGE)
    if code == Exit.INTERRUPTED:  # Ctrl-C in a command (run_guarded), a watch session, or Typer's own parsing and lazy imports,
        typer.echo("emocare: interrupted", err=True)  # which Typer turns into a bare exit 130
    sys.exit(code if isinstance(code, int) else Exit.OK)


def _file_identity(fd: int):
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _reader_gone(stdout_was) -> bool:
    """True when a write to stdout failed because its reader closed the pipe (``emocare analyze --json DIR |
    head``). Typer then swaps ``sys.stdout`` for Click's ``PacifyFlushWrapper`` and Rich points descriptor 1 at
    /dev/null, each to keep the exit quiet, and both exit 1. The run stopped at the write that failed; what it
    writes to files is not affected."""
    from typer._click.utils import PacifyFlushWrapper

    return isinstance(sys.stdout, PacifyFlushWrapper) or _file_identity(1) != stdout_was
