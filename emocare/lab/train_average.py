"""``emocare train --average``: one model from several finished runs, their outputs averaged in one graph or their
weights averaged into one network (a model soup), exported like a single run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from emocare.errors import ConfigError
from emocare.lab.train_data import load_dataset
from emocare.lab.train_export import export
from emocare.lab.train_head import votes_line
from emocare.lab.train_nets import build_model
from emocare.lab.train_runs import (TrainResult, _arch, _best_weights, _check_writable, _checkpoint_dir, _device,
                                    _ensemble, _history, _model_out, _recipe)


MERGES = {"outputs": "averaged", "weights": "averaged weight by weight"}  # --merge: how --average joins runs


def average_runs(checkpoints: list[Path], val: Path | str, out: Path | str, *,
                 on_line: Callable[[str], None] = print, mirror: bool | None = None,
                 merge: str = "outputs", val_votes: Path | str | None = None) -> TrainResult:
    """One model from several finished runs (their best networks, ``CKPT/best.weights.h5``), exported like a
    single run (blend, bias, temperature chosen on ``val``).

    ``merge="outputs"``: every network in one graph, their log-probabilities averaged. Runs from different
    seeds make different mistakes, so their average is more accurate than either, at the cost of running each.
    ``merge="weights"``: one network whose every weight is the runs' mean (``_soup``), for runs fine-tuned from
    one ``--init``: the cost of one network. One run alone is exported as it is (how a run trained on a Keras
    backend without TensorFlow becomes a model, or a run stopped early). ``val_votes``: choose against FER+
    votes, as ``train`` does.
    """
    out = _model_out(out)
    _check_writable(out)
    files, recipes = _runs_to_merge(checkpoints, out, merge)
    started = time.perf_counter()
    on_line(f"reading {val}")
    val_set = load_dataset(val, keep_raw=True, votes=val_votes)
    from emocare.engines._quiet import quiet_imports

    with quiet_imports():
        import keras  # noqa: F401  (quietly, before _ensemble imports it)

    merged = _merged_network(files, merge, out)
    runs = [_history(f.parent) for f in files]
    device = _device()
    metrics = export(merged, out, val_set, extra={
        "merge": merge,
        "members": _members(files, runs, recipes),
        "train_seconds": round(sum(e["seconds"] for h in runs for e in h)), "exported_on": device, "val_data": str(val),
        "val_votes": str(val_votes) if val_votes else None},
        mirror=mirror)
    on_line(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(files)} run{'s' if len(files) > 1 else ''} {MERGES[merge]}, val accuracy "
            f"{metrics['accuracy']:.1%}, balanced {metrics['balanced_accuracy']:.1%}, ECE {metrics['ece']:.3f}")
    if "votes" in metrics:
        on_line(votes_line(metrics["votes"]))
    return TrainResult(str(out), sum(len(h) for h in runs), 0, time.perf_counter() - started, device, metrics, [])


def _runs_to_merge(checkpoints: list[Path], out: Path, merge: str) -> tuple[list[Path], list[dict]]:
    """(the runs' best networks, how each was trained), checked: ``merge`` known, each a finished run, and for
    ``weights`` runs that can be averaged (``_check_soup``) into a checkpoint folder that is none of theirs."""
    if merge not in MERGES:
        raise ConfigError(f"--merge {merge}: expected outputs or weights")
    files = [_best_weights(c, None) for c in checkpoints]
    recipes = [_recipe(f.parent) for f in files]
    if merge == "weights":
        _check_soup(files, recipes)
        if out.with_suffix(".ckpt").resolve() in {f.parent.resolve() for f in files}:
            raise ConfigError(f"--out {out}: the averaged network's checkpoint folder ({out.with_suffix('.ckpt')}) "
                              f"is one of the runs averaged; choose another --out")
    return files, recipes


def _merged_network(files: list[Path], merge: str, out: Path):
    """The runs joined (``_ensemble`` or ``_soup``); a soup is also saved as a run of its own beside ``out``."""
    merged = _ensemble(files) if merge == "outputs" else _soup(files)
    if merge == "weights":  # the soup is one network: it can start another run (--init OUT.ckpt)
        soup_ckpt = _checkpoint_dir(out.with_suffix(".ckpt"), False, _arch(files[0].parent), force=True)  # arch.json
        merged.save_weights(str(soup_ckpt / "best.weights.h5"))
        (soup_ckpt / "run.json").write_text(json.dumps({"merge": "weights", "members": [str(f.parent) for f in files]},
                                                       indent=2))
    return merged


def _members(files: list[Path], runs: list[list[dict]], recipes: list[dict]) -> list[dict]:
    """Each run averaged, as the model's description lists it: its folder, network, best epoch, time and recipe."""
    return [{"checkpoint": str(f.parent), "arch": _arch(f.parent),
             "best_epoch": max(h, key=lambda e: e["val_accuracy"])["epoch"] if h else 0,
             "epochs_run": len(h), "train_seconds": round(sum(e["seconds"] for e in h)), **recipe}
            for f, h, recipe in zip(files, runs, recipes)]


def _check_soup(files: list[Path], recipes: list[dict]) -> None:
    """Weights can be averaged only between runs of one network fine-tuned from one ``--init`` (they stay close
    to it; runs from different starts are unrelated and their mean is no network at all)."""
    archs = {_arch(f.parent) for f in files}
    if len(archs) > 1:
        raise ConfigError(f"--merge weights: the runs hold different networks ({', '.join(sorted(archs))})")
    inits = {str(f.parent): recipe.get("init") for f, recipe in zip(files, recipes)}
    if len(files) > 1 and (None in inits.values() or len(set(inits.values())) > 1):
        said = "; ".join(f"{run}: {init or 'no --init recorded'}" for run, init in inits.items())
        raise ConfigError(f"--merge weights needs runs fine-tuned from one --init ({said}); use --merge outputs")


def _soup(files: list[Path]):
    """One network whose every weight (batch-norm statistics too) is the mean of the runs' (a "model soup",
    Wortsman et al. 2022): runs fine-tuned from one start stay in one basin, so the mean is a network that keeps
    part of their ensemble's gain at the cost of one."""
    arch = _arch(files[0].parent)
    net = build_model(0, arch=arch)
    runs = []
    for f in files:
        net.load_weights(str(f))
        runs.append([np.array(w) for w in net.get_weights()])
    net.set_weights([np.mean(ws, axis=0) for ws in zip(*runs)])
    return net
