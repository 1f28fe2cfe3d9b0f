"""The lab's command bodies: ``emocare bench`` and ``emocare train``.

``emocare/cli.py`` declares both commands (options, help, exit codes), checks that the ``lab`` extra is installed,
and only then imports this module and calls ``bench`` or ``train`` here with the parsed values. What they print
and raise is what the CLI has always printed and raised; ``run_guarded`` there maps the errors to exit codes.
"""

from __future__ import annotations

import json
import sys

import typer

from emocare.commands import PLOT_SUFFIXES, check_output, load_settings, stderr_console, stdout_console
from emocare.engines import registry
from emocare.errors import ConfigError, EmocareError
from emocare.settings import TrainPlan

PLAN = TrainPlan()
MIRROR = {"auto": None, "on": True, "off": False}  # --mirror: None = chosen on val


def bench(engines, video, images, dataset, crops, limit, seed, repeat, no_speed, pipeline, json_out, plot_path,
          detector="auto", faces_videos=(), no_face=(), sessions=(), votes=None) -> None:
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
        stderr_console().print(f"json: {json_out}")


def _bench_detectors(faces_videos, no_face) -> dict:
    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report

    with stderr_console().status("running each detector...") as status:
        result = bench_mod.run_detectors(faces_videos, no_face, on_step=lambda k: status.update(f"detecting: {k}"))
    for table in bench_report.detector_tables(result):
        stdout_console().print(table)
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
    with stderr_console().status("watching the sessions...") as status:
        result = bench_sessions.run_sessions(videos, names, settings,
                                             on_step=lambda what, done, total: status.update(f"{done + 1}/{total} {what}"))
    for table in bench_report.sessions_tables(result):
        stdout_console().print(table)
    return {"machine": bench_mod.machine_info(), "care_sessions": result.to_json()}


def _bench_pipeline(video, repeat, detector) -> dict:
    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report

    with stderr_console().status("running the five loops (DeepFace.analyze, FER, emocare x3)...") as status:
        result = bench_mod.run_pipeline(video, repeat=repeat, detector=detector,
                                        on_step=lambda k: status.update(f"timing {k}..."))
    stdout_console().print(bench_report.pipeline_table(result))
    return {"machine": bench_mod.machine_info(), "pipeline": result.to_json()}


def _bench_engines(names, plot_path, **options) -> dict:
    from rich.progress import Progress

    from emocare.lab import bench as bench_mod
    from emocare.lab import bench_report
    from emocare.errors import ModelMissing

    err = stderr_console()
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
        stdout_console().print(table)
    if plot_path is not None:
        bench_report.plot(report, plot_path)
        err.print(f"plot: {plot_path}")
    return report.to_json()


def train(dataset, val, out, epochs, resume, batch_size, patience, seed, checkpoints, limit, average=(), mirror="auto",
          teacher=(), init=None, lr=PLAN.lr, distill=PLAN.distill, arch=PLAN.arch, merge="outputs",
          teacher_views=PLAN.teacher_views, teacher_temperature=PLAN.teacher_temperature, votes=None, val_votes=None,
          labels=PLAN.labels, class_weights=PLAN.class_weights, force=False) -> None:
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
