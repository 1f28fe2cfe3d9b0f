"""The command line: a thin shell over the library.

Each command declares its options, help and exit codes, and hands the parsed
values to its body: ``emocare/commands/`` for the product's (each builds
``Settings``, calls one library function and renders its result),
``emocare/lab/cli.py`` for ``bench`` and ``train``, imported only once the
``lab`` extra is found installed. ``EmocareError`` subclasses map to exit
codes here and nowhere else. The bodies, and the heavy modules (cv2,
TensorFlow, deepface, fer), are imported inside the commands, so
``emocare --help`` is instant.

Exit codes: the table in ``exits.py`` (``Exit``), where every exit here takes its number.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from emocare import extras
from emocare import window as window_keys
from emocare.engines import registry
from emocare.errors import ConfigError, EmocareError, caused_by_interrupt
from emocare.exits import Exit, describe
from emocare.logs import setup_logging
from emocare.settings import DEFAULTS, LANGS, TrainPlan
from emocare.usage import source_conflict

PLAN = TrainPlan()
LANG_CHOICES = " or ".join(LANGS)

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
models_app = _App(help="Emotion models and face detectors: the table (no subcommand), download, import, build-random.", invoke_without_command=True,
                  epilog=describe(Exit.OK, (Exit.FAILED, "a file that cannot be read or written"), Exit.USAGE,
                                  (Exit.ENGINE, "the deepface extra missing (download, import, build-random)"),
                                  (Exit.WEIGHTS, "download failed or weights altered"), Exit.OUTPUT_CLOSED))
voices_app = _App(help="Spoken comfort messages: pre-render them while online.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(voices_app, name="voices")

log = logging.getLogger("emocare")

ConfigOpt = typer.Option(None, "--config", help="TOML config file (default: user config dir; EMOCARE_CONFIG too).", dir_okay=False, metavar="PATH")
EngineOpt = typer.Option(None, "--engine", help=registry.engine_help(), metavar="NAME")
DetectorOpt = typer.Option(None, "--detector", help=f"Face detector: auto (blazeface for emocare's own path, opencv for the libraries), {', '.join(registry.LITE_DETECTORS)}; the libraries also take their own (fer: mtcnn).", metavar="NAME")


def fail(message: str, code: Exit) -> typer.Exit:
    typer.echo(f"emocare: error: {message}", err=True)
    return typer.Exit(code)


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
                             Exit.ENGINE, (Exit.WEIGHTS, "weights missing or altered"), (Exit.INTERRUPTED, "Ctrl-C"),
                             Exit.OUTPUT_CLOSED))
def analyze(
    paths: List[Path] = typer.Argument(..., help="Image files or folders (searched recursively).", exists=False, readable=False),
    engine: Optional[str] = EngineOpt,
    detector: Optional[str] = DetectorOpt,
    as_json: bool = typer.Option(False, "--json", help="Only JSON on stdout: JSON Lines, one object per image (files and folders alike), each as it is done.", metavar=""),
    details: bool = typer.Option(False, "--details", help="A table per image with every face, instead of one row per image (--json always has every face).", metavar=""),
    crops: bool = typer.Option(False, "--crops", help="Each image is already a face (FER2013-style crops): no detection.", metavar=""),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Cores for several images: one single-threaded process each (0 = every core).", metavar="N"),
    annotate: Optional[Path] = typer.Option(None, "--annotate", help="Write annotated copies (PNG) into this folder; for one photo, a .png or .jpg file name writes that file.", metavar="PATH"),
    max_side: Optional[int] = typer.Option(None, "--max-side", help="Detect on a copy whose longer side is at most this (boxes stay in original pixels).", metavar="N"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Analyze photos: faces, the 7 emotion scores, the dominant emotion; a summary for several."""
    from emocare.commands.analyze import analyze as body

    run_guarded(body, paths, engine, detector, as_json, annotate, max_side, config, details, crops, jobs)


# ---------------------------------------------------------------- watch
@app.command(epilog=window_keys.keys_summary() + " " + describe(
    Exit.OK, (Exit.FAILED, "damaged video/full disk/failed recording"), (Exit.USAGE, "usage"),
    (Exit.SOURCE, "camera/stream/file unavailable or lost"), Exit.ENGINE, (Exit.WEIGHTS, "weights missing or altered"),
    (Exit.INTERRUPTED, "Ctrl-C")))
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
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Language of the comfort and the window: {LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR (write the sounds it would play into DIR).", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Watch a camera or video live: steady mood per person, overlay window, journal, comfort."""
    from emocare.commands import watch as body

    if problem := source_conflict(camera, source, size, list_cameras):
        raise fail(problem, Exit.USAGE)
    if list_cameras:
        return body.list_cameras()
    from emocare.interrupts import one_interrupt

    with one_interrupt():  # a second Ctrl-C (timeout -s INT sends two) waits for the end line and the summary
        code = run_guarded(body.watch, camera, source, fast, size, no_window, record, journal, stats, config,
                           dict(engine=engine, detector=detector, window_s=window_s, hold_s=hold_s, care=care,
                                persist_s=persist, cooldown_s=cooldown, quiet=quiet, lang=lang, audio=audio, size=size,
                                camera=camera, reconnect_timeout_s=reconnect_timeout, stream_timeout_s=stream_timeout))
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- serve
@app.command(epilog=describe(Exit.OK, (Exit.FAILED, "cannot listen on --host/--port"), Exit.USAGE,
                             (Exit.SOURCE, "camera/stream/file unavailable at start"), Exit.ENGINE, (Exit.WEIGHTS, "weights missing or altered"),
                             (Exit.INTERRUPTED, "Ctrl-C (how it is stopped)")))
def serve(
    camera: Optional[int] = typer.Option(None, "--camera", help=f"Camera index (default {DEFAULTS.camera}).", metavar="N"),
    source: Optional[str] = typer.Option(None, "--source", help="A video file or an RTSP/HTTP stream URL instead of a camera.", metavar="TEXT"),
    no_camera: bool = typer.Option(False, "--no-camera", help="Watch nothing: serve the history and settings pages only.", metavar=""),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs the token printed at start on every page and stream.", metavar="ADDRESS"),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0: a free one).", metavar="N"),
    show_window: bool = typer.Option(False, "--show-window", help="Also show the OpenCV window (off under serve; watch's --window is its rolling window in seconds).", metavar=""),
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
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Language of the comfort, the page and the window: {LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR (write the sounds it would play into DIR).", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """The companion as local web pages: live video, moods and comfort; history by day; settings and messages."""
    if problem := source_conflict(camera, source, size):
        raise fail(problem, Exit.USAGE)
    if no_camera and (camera is not None or source is not None or fast or record is not None or show_window
                      or journal is not None):
        raise fail("--no-camera serves the history and settings only: it takes no --camera, --source, --fast, --record, "
                   "--journal or --show-window (--history adds journals to the history)", Exit.USAGE)
    from emocare.commands.serve import serve as body

    code = run_guarded(body, source, fast, no_camera, show_window, host, port, history or [], max_viewers, record, journal,
                       config, dict(engine=engine, detector=detector, persist_s=persist, cooldown_s=cooldown, quiet=quiet,
                                    lang=lang, audio=audio, size=size, camera=camera,
                                    reconnect_timeout_s=reconnect_timeout, stream_timeout_s=stream_timeout))
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- report
@app.command(epilog=describe(Exit.OK, (Exit.FAILED, "unreadable journal, lines left out, or plot not written"), Exit.USAGE,
                             (Exit.ENGINE, "--plot without the plot extra"), (Exit.INTERRUPTED, "Ctrl-C"),
                             Exit.OUTPUT_CLOSED))
def report(
    journal: Optional[Path] = typer.Argument(None, help="A journal (.jsonl) written by 'emocare watch' (default: the latest in the user data dir).", metavar="JOURNAL"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Draw the mood timeline into this PNG.", dir_okay=False, metavar="PATH"),
) -> None:
    """Summarize a session journal: time in each mood per person, changes per minute, care events."""
    from emocare.commands.report import report as body

    run_guarded(body, journal, plot)


# ---------------------------------------------------------------- say / voices
@app.command(epilog=describe((Exit.OK, "spoken (or --audio none)"), (Exit.FAILED, "nothing played (no audio output or "
                             "speech engine; --audio file:DIR not writable)"), Exit.USAGE,
                             (Exit.INTERRUPTED, "Ctrl-C")))
def say(
    text: str = typer.Argument(..., help="What to say.", metavar="TEXT"),
    lang: Optional[str] = typer.Option(None, "--lang", help=f"{LANG_CHOICES} (default: system locale).", metavar="TEXT"),
    audio: Optional[str] = typer.Option(None, "--audio", help="auto, none, or file:DIR.", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Speak a line (gTTS, cached; local TTS offline) to test your audio setup."""
    from emocare.commands.speech import say as body

    run_guarded(body, text, lang, audio, config)


@voices_app.command("cache")
def voices_cache(
    lang: Optional[str] = typer.Option(None, "--lang", help=f"Only this language ({LANG_CHOICES}); default all.", metavar="TEXT"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Pre-render every comfort message with gTTS while online, so they are spoken offline later."""
    from emocare.commands.speech import voices_cache as body

    run_guarded(body, lang, config)


# ---------------------------------------------------------------- bench
@app.command(epilog="Without arguments: a quick speed comparison on a sample clip shipped with emocare. " + describe(
    Exit.OK, (Exit.FAILED, "bad input"), (Exit.USAGE, "usage"), (Exit.ENGINE, "an engine or the lab extra missing"),
    (Exit.WEIGHTS, "weights missing (--pipeline)"),
    (Exit.INTERRUPTED, "Ctrl-C"), Exit.OUTPUT_CLOSED))
def bench(
    engines: Optional[str] = typer.Option(None, "--engines", help="Comma-separated, from: " + ", ".join(registry.names(choosable=False)) + " (default: all).", metavar="TEXT"),
    detector: str = typer.Option("auto", "--detector", help=f"Face detector of emocare's own engines: auto (blazeface), {' or '.join(registry.LITE_DETECTORS)}.", metavar="TEXT"),
    faces_videos: Optional[list[Path]] = typer.Option(None, "--faces-videos", help="Detector report: videos (or folders of them) where every frame holds a face; found-rate per detector (per emotion, and only a box at the face, where a NAME.truth.csv gives them). Repeatable.", metavar="PATH"),
    no_face: Optional[list[Path]] = typer.Option(None, "--no-face", help="Detector report: videos, images or folders with no face; false faces per detector. Repeatable.", metavar="PATH"),
    sessions: Optional[list[Path]] = typer.Option(None, "--sessions", help="Care report: session videos with NAME.truth.csv beside each (or folders of them), watched as 'watch --fast' does; comfort when due and when not, mood changes per minute, per engine (default: emocare's own engines). Repeatable.", metavar="PATH"),
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
    """Compare FER and DeepFace (and emocare's own path): speed, accuracy, memory, size; comfort on care sessions."""
    run_guarded(_bench, engines, video, images, dataset, crops, limit, seed, repeat, no_speed, pipeline, json_out, plot,
                detector, faces_videos or [], no_face or [], sessions or [], votes)


def _bench(*args) -> None:
    extras.require("lab", "emocare bench")  # before anything of the lab is imported
    from emocare.lab.cli import bench as body

    body(*args)


# ---------------------------------------------------------------- train
@app.command(epilog=describe((Exit.OK, "trained"), (Exit.FAILED, "unreadable data"), (Exit.USAGE, "usage"),
                             (Exit.INTERRUPTED, "Ctrl-C (the last finished epoch is kept: rerun with --resume)")))
def train(
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="Training faces: <label>/ folders (FER2013's Kaggle export) or a CSV of path,label (needed unless --average).", metavar="PATH"),
    # --val and --out are required, checked in _train after the lab extra: in the light install a bare 'emocare train'
    # says which extra it needs, not which option it lacks
    val: Optional[Path] = typer.Option(None, "--val", help="Validation faces, same layout: they pick the best epoch, decide when to stop, and tune how sure the model's scores are. Required.", metavar="PATH"),
    out: Optional[Path] = typer.Option(None, "--out", help="The model to write (.tflite; a .json description is written beside it). Required.", dir_okay=False, metavar="PATH"),
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


def _train(*args) -> None:
    extras.require("lab", "emocare train")  # before anything of the lab is imported
    for value, flag in ((args[1], "--val"), (args[2], "--out")):
        if value is None:
            raise fail(f"emocare train: missing option '{flag}' (emocare train --help)", Exit.USAGE)
    from emocare.lab.cli import train as body

    body(*args)


# ---------------------------------------------------------------- models
@models_app.callback(invoke_without_command=True)
def models(ctx: typer.Context) -> None:
    """Table of engines: installed or not, weights files, where, size, present."""
    if ctx.invoked_subcommand is not None:
        return
    from emocare.commands.models import print_table

    print_table()


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
@app.command("config", epilog=describe(Exit.OK, (Exit.FAILED, "the output cannot be written"),
                                       (Exit.USAGE, "the config file is missing (when named) or wrong"), Exit.OUTPUT_CLOSED))
def config_cmd(config: Optional[Path] = ConfigOpt) -> None:
    """Print the effective settings (TOML) and where each value came from."""
    from emocare import settings as settings_mod
    from emocare.commands import load_settings
    from emocare.web.wording import prefixed

    s, origin = run_guarded(load_settings, config)
    path = settings_mod.config_path(config)
    typer.echo(f"# config file: {path}{'' if Path(path).is_file() else ' (not present)'}")
    about = prefixed(s.language, "about_")  # what each setting does, as the settings page says it
    typer.echo(settings_mod.to_toml(s, origin, about), nl=False)


def main() -> None:
    """Run the app; usage errors are one line (not Typer's box), exit codes as documented."""
    from typer._click import exceptions as cx  # Typer 0.29 vendors Click: its own exception types

    stdout_was = _file_identity(1)
    from emocare.usage import empty_argument, flag_options

    args = sys.argv[1:]
    empty = empty_argument(args, flag_options(typer.main.get_command(app))) if any(
        a == "" or a.endswith("=") for a in args) else None  # no Click tree built twice on every start
    if empty is not None:
        typer.echo(f"emocare: error: {empty}", err=True)
        sys.exit(Exit.USAGE)
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
        # the command, without the "emocare" the line already starts with ("emocare: error: emocare analyze: ...")
        # (the root's name may be two words: "python -m emocare" makes it "-m emocare")
        sub = exc.ctx.command_path[len(exc.ctx.find_root().command_path):].strip() if exc.ctx is not None else ""
        where = f"{sub}: " if sub else ""
        from emocare.usage import usage_message

        typer.echo(f"emocare: error: {where}{usage_message(exc, cx)}", err=True)
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
