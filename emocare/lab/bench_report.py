"""Rendering of bench results: rich tables and a matplotlib figure (model and view kept apart)."""

from __future__ import annotations

from pathlib import Path

from emocare.faces import EMOTIONS


def _f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


def label(name: str, r: dict) -> str:
    return f"{name} (random weights)" if r.get("random_weights") else name


def tables(report):
    """Speed, cost, accuracy, recall and agreement tables, each only when it has rows."""
    speed, cost = _speed_cost_tables(report)
    out = [speed, cost] if speed.row_count else [cost]
    if any("accuracy" in r for r in report.engines.values()):
        out += _accuracy_tables(report)
    if report.agreement:
        out.append(_agreement_table(report.agreement))
    for t in out:
        for table in (t.wide, t.narrow) if hasattr(t, "narrow") else (t,):
            whole_words(table)
    return out


def whole_words(table):
    """No column narrower than its longest word (header or cell), so rich wraps at spaces and never cuts a word."""
    for column in table.columns:
        texts = [str(column.header), *(c for c in column._cells if isinstance(c, str))]
        longest = max((len(w) for t in texts for w in t.split()), default=1)
        column.min_width = max(column.min_width or 0, longest)
    return table


def _table(title: str, columns, first: str = "engine"):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in (first, *columns):
        t.add_column(col, justify="left" if col == first else "right", overflow="fold")
    return t


def _speed_cost_tables(report):
    runtime = report.machine.get("runtime")
    speed = _table(f"speed on {report.source} ({report.machine['cores']} cores, {report.machine['cpu']}"
                   + (f"; emocare's graphs run by {runtime}" if runtime else "") + ")",
                   ("FPS", "p50 ms", "p95 ms", "detect ms", "classify ms"))
    cost = _table("start-up, memory and size", ("cold start s", "peak RSS MB", "model MB", "deps MB"))
    notes: list[str] = []
    for name, r in report.engines.items():
        if not r.get("available"):  # no empty row: a line under the table says why (DeepFace's weights: the CLI did)
            if not r.get("needs_deepface_weights"):
                notes.append(f"not run: {name}: {r.get('reason')}")
            continue
        s = r.get("speed", {})
        if s:
            speed.add_row(label(name, r), _f(s.get("fps")), _f(s.get("p50_ms")), _f(s.get("p95_ms")),
                          _f(s.get("detect_ms")), _f(s.get("classify_ms")))
        cost.add_row(label(name, r), _f(r.get("cold_start_s"), "{:.2f}"), _f(r.get("peak_rss_mb"), "{:.0f}"),
                     _f(r.get("model_mb"), "{:.2f}"), _f(r.get("deps_mb"), "{:.0f}"))
    if notes:
        speed.caption = "\n".join(notes)
    return speed, cost


def _accuracy_tables(report):
    acc = _table(f"accuracy on {report.dataset}{' (crops: the whole image is the face)' if report.crops else ''}",
                 ("n", "accuracy", "balanced", "neutral→neg", "ECE", "no face"))
    recall = _table("recall per emotion", [e[:4] for e in EMOTIONS])
    for name, r in report.engines.items():
        a = r.get("accuracy")
        if not a:
            continue
        rec = a["per_class_recall"]
        acc.add_row(label(name, r), str(a["n"]), f"{a['accuracy']:.1%}", f"{a['balanced_accuracy']:.1%}",
                    _f(a.get("neutral_read_negative"), "{:.1%}"), _f(a.get("ece"), "{:.3f}"), f"{a['no_face_rate']:.1%}")
        recall.add_row(label(name, r), *[_f(rec.get(e), "{:.2f}") for e in EMOTIONS])
    acc.caption = ("neutral→neg: neutral faces read as angry, disgust, fear or sad; "
                   "ECE: expected calibration error (0 = the probabilities are honest)")
    if report.votes and any(r.get("accuracy", {}).get("votes") for r in report.engines.values()):
        acc.title = f"FER2013's labels on {report.dataset} (a second line: they disagree with the annotators on a third of faces)"
        return [_votes_table(report), acc, recall]
    return [acc, recall]


def _votes_table(report):
    """The engines scored against FER+ votes: what ten annotators saw in each face."""
    t = _table(f"against the FER+ votes ({report.votes})", ("n", "majority", "balanced", "calm→neg", "sad→neg", "CE", "ECE"))
    for name, r in report.engines.items():
        v = r.get("accuracy", {}).get("votes")
        if v:
            t.add_row(label(name, r), str(v["n"]), _f(v["majority_accuracy"], "{:.1%}"), _f(v["balanced_accuracy"], "{:.1%}"),
                      _f(v["clearly_neutral_read_negative"], "{:.1%}"), _f(v["sad_read_negative"], "{:.2f}"),
                      _f(v["cross_entropy"], "{:.3f}"), _f(v["ece"], "{:.3f}"))
    t.caption = ("majority: the most-voted emotion read; calm→neg: faces at least 70% of annotators call neutral read "
                 "as angry, disgust, fear or sad; sad→neg: faces at least half call sad read as any of those; "
                 "CE: cross-entropy against the vote distribution; ECE against the most-voted emotion")
    return t


def _agreement_table(agreement: dict):
    """A matrix of engines on a wide terminal; below 100 columns, where engine names as column headers would be cut
    in two, a row per pair."""
    from emocare.tables import ByWidth

    names = list(agreement)
    title = "agreement of dominant emotion on the same frames (both found a face)"
    ag = _table(title, names, first="")
    for a in names:
        ag.add_row(a, *["-" if a == b else _f(agreement[a].get(b), "{:.2f}") for b in names])
    pairs = _table(title, ("agrees with", "share"), first="engine")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs.add_row(a, b, _f(agreement[a].get(b), "{:.2f}"))
    return ByWidth(ag, pairs)


def detector_tables(result):
    """Found-rate per face video (with its worst emotion when a truth file gave them), per emotion over all the
    videos, false faces per no-face file, and a summary row per detector (its worst emotion beside the mean)."""
    from emocare.lab.bench_detectors import DetectorReport

    result = result.to_json() if isinstance(result, DetectorReport) else result

    out = []
    dets = list(result["summary"])
    _per_file_table(out, dets, "frames with a face (every frame holds one)", "video", result["face_videos"], _found_cell)
    emotions = [e for e in EMOTIONS if any(e in (s.get("found_rate_by_emotion") or {}) for s in result["summary"].values())]
    if emotions:
        out.append(_found_by_emotion_table(result, dets, emotions))
    _per_file_table(out, dets, "false faces on media with no face", "file", result["no_face"],
                    lambda r: f"{r['false_faces']} in {r['frames_with_faces']}/{r['frames']}")
    out.append(_detector_summary_table(result))
    return out


def _per_file_table(out: list, dets: list[str], title: str, first: str, rows: dict, cell) -> None:
    """A row per file and a column per detector (``cell`` of each file's entry), appended to ``out`` when there
    are rows."""
    from rich.table import Table

    from emocare.report import text  # a path as terminal text: never Rich markup, never a control character
    from emocare.tables import common_folder

    if not rows:
        return
    folder, names = common_folder(list(rows))
    t = Table(title=f"{title}, in {text(folder)}" if folder else title, title_justify="left")
    t.add_column(first, overflow="fold")
    for d in dets:
        t.add_column(d, justify="right", overflow="fold")
    for name, per in zip(names, rows.values()):
        t.add_row(text(name), *[cell(per[d]) for d in dets])
    out.append(t)


def _found_cell(r) -> str:
    """A face video's found-rate, with its worst emotion when a truth file gave more than one."""
    cell = f"{r['found_rate']:.1%}"
    rates = {e: t["found"] / t["frames"] for e, t in (r.get("by_emotion") or {}).items() if t["frames"]}
    if len(rates) > 1:
        worst = min(rates, key=rates.get)
        cell += f" (worst {worst} {rates[worst]:.1%})"
    return cell


def _found_by_emotion_table(result: dict, dets: list[str], emotions: list[str]):
    """Found-rate per true emotion, pooled over all the videos with a truth file, a column per detector."""
    from rich.table import Table

    t = Table(title="frames with a face, per true emotion (all videos with a truth.csv)", title_justify="left")
    t.add_column("emotion")
    for d in dets:
        t.add_column(d, justify="right", overflow="fold")
    for e in emotions:
        t.add_row(e, *[_f((result["summary"][d].get("found_rate_by_emotion") or {}).get(e), "{:.1%}") for d in dets])
    return t


def _detector_summary_table(result: dict):
    """A summary row per detector: found rates, its worst emotion, false faces and detection ms."""
    from rich.table import Table

    t = Table(title="detectors", title_justify="left")
    for col in ("detector", "min found", "mean found", "worst emotion", "false faces", "ms/frame", "p95 ms"):
        t.add_column(col, justify="right" if col != "detector" else "left", overflow="fold")
    for d, s in result["summary"].items():
        worst = s.get("worst_emotion")
        t.add_row(d, _f(s["min_found_rate"], "{:.1%}"), _f(s["mean_found_rate"], "{:.1%}"),
                  f"{worst} {s['worst_emotion_found_rate']:.1%}" if worst else "-", str(s["false_faces"]),
                  _f(s["ms_per_frame"], "{:.2f}"), _f(s["p95_ms"], "{:.1f}"))
    t.caption = "ms: detection stage as watch runs it (detector every 10th frame, optical flow between)"
    placed = {d: s for d, s in result["summary"].items() if "off_face" in s}
    if placed:
        t.caption += ("; found: a box at the face, in the videos whose truth.csv gives its place (x,y,side): "
                      + ", ".join(f"{d} {s['videos_placed']} videos, {s['off_face']} frames with boxes elsewhere "
                                  "only" for d, s in placed.items()))
    return t


def pipeline_table(result):
    """``bench --pipeline``'s table from a ``PipelineReport`` (or its JSON)."""
    from rich.table import Table

    from emocare.lab.bench_pipeline import PipelineReport
    from emocare.engines import registry

    report = result if isinstance(result, PipelineReport) else PipelineReport.from_json(result)
    t = Table(title=f"real-time pipeline on {report.source} ({report.size}, {report.frames} frames; "
                    f"C-E detector: {report.detector}; DeepFace weights: {report.weights})",
              title_justify="left")
    for col in ("loop", "FPS", "p50 ms", "p95 ms", "faces found", "agreement"):
        t.add_column(col, justify="right" if col != "loop" else "left", overflow="fold")
    for spec in registry.loops():
        r = report.loops.get(spec.loop.key)
        if r is None:
            continue
        agree = next(iter(r.agreement.values()), None)
        t.add_row(f"{spec.loop.letter} {spec.loop.label}", f"{r.fps:.1f}", f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}",
                  f"{r.faces_found_rate:.0%}", _f(agree, "{:.3f}") + (f" vs {spec.loop.versus}" if spec.loop.versus else ""))
    t.caption = "ratios: " + ", ".join(f"{k} = {v:.1f}x" for k, v in report.ratios.items())
    return t


def plot(report, path: Path) -> Path:
    """Bar panels (speed, accuracy, cold start) on the first row, a confusion matrix per engine below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    avail = {n: r for n, r in report.engines.items() if r.get("available")}
    with_acc = {n: r for n, r in avail.items() if "accuracy" in r}
    panels = [p for p, show in (("speed", any("speed" in r for r in avail.values())), ("accuracy", bool(with_acc)),
                                ("cold", True)) if show]
    ncols = 3 if with_acc else len(panels)  # no empty column beside the bars when there are no matrices
    nrows = 1 + (len(with_acc) + ncols - 1) // ncols
    fig, grid = plt.subplots(nrows, ncols, figsize=(17, 4.4 * nrows), dpi=100, squeeze=False)
    top = list(grid[0])
    for ax in top[len(panels):]:
        ax.set_axis_off()
    for ax, panel in zip(top, panels):
        _PANELS[panel](ax, report, avail, with_acc)
        ax.invert_yaxis()
    below = [grid[r][c] for r in range(1, nrows) for c in range(ncols)]
    for ax in below[len(with_acc):]:
        ax.set_axis_off()
    for ax, (name, r) in zip(below, with_acc.items()):
        _confusion(ax, label(name, r), r["accuracy"]["confusion"])
    from emocare.report import save_figure

    return save_figure(fig, path)


def _bars(ax, names, values, color: str, fmt: str, xlabel: str, title: str) -> None:
    bars = ax.barh(names, values, color=color)
    ax.bar_label(bars, fmt=fmt, padding=3)
    ax.set_xlabel(xlabel)
    ax.set_title(title)


def _speed_panel(ax, report, avail, with_acc) -> None:
    _bars(ax, [label(n, r) for n, r in avail.items()], [r.get("speed", {}).get("fps", 0) for r in avail.values()],
          "#4c78a8", "%.1f", "frames per second (higher is better)", f"speed on {Path(report.source).name}")


def _cold_panel(ax, report, avail, with_acc) -> None:
    _bars(ax, [label(n, r) for n, r in avail.items()], [r.get("cold_start_s", 0) for r in avail.values()],
          "#e15759", "%.2f", "seconds from process start to model ready", "cold start (lower is better)")


def _accuracy_panel(ax, report, avail, with_acc) -> None:
    import numpy as np

    y = np.arange(len(with_acc))
    for offset, key, name, color in ((-0.2, "accuracy", "accuracy", "#59a14f"),
                                     (0.2, "balanced_accuracy", "balanced", "#9c755f")):
        bars = ax.barh(y + offset, [r["accuracy"][key] * 100 for r in with_acc.values()], 0.4, label=name, color=color)
        ax.bar_label(bars, fmt="%.1f", padding=3)
    ax.set_yticks(y, [label(n, r) for n, r in with_acc.items()])
    ax.set_xlim(0, 100)
    ax.set_xlabel("% on " + Path(str(report.dataset)).name)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("accuracy")


_PANELS = {"speed": _speed_panel, "accuracy": _accuracy_panel, "cold": _cold_panel}


def _confusion(ax, title: str, confusion) -> None:
    import numpy as np

    cm = np.array(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(EMOTIONS)), [e[:3] for e in EMOTIONS], fontsize=8)
    ax.set_yticks(range(len(EMOTIONS)), [e[:3] for e in EMOTIONS], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} (row-normalised)")


def sessions_tables(result, per_session_max: int = 12):
    """``bench --sessions``: per engine, comfort when due and when not, mood changes a minute, delay to comfort;
    with a few sessions, also one row per session."""
    data = result.to_json() if hasattr(result, "to_json") else result
    out = []
    per = data["per_session"]
    if len(data["sessions"]) <= per_session_max:  # a column per engine when wide, a row per session and engine below
        from emocare.tables import ByWidth

        title = "care sessions: comfort times (s) and mood changes"
        t = _table(title, list(per), first="session")
        from rich.table import Table

        rows = Table(title=title, title_justify="left")
        rows.add_column("session", no_wrap=True)  # names and engines are one word each: the last column wraps
        rows.add_column("engine", no_wrap=True)
        rows.add_column("comfort times (s) and mood changes")
        for i, path in enumerate(data["sessions"]):
            t.add_row(Path(path).name, *[_session_cell(per[e][i]) for e in per])
            for k, e in enumerate(per):
                rows.add_row(Path(path).name if k == 0 else "", e, _session_cell(per[e][i]))
        out.append(ByWidth(t, rows))
    t = _table(f"care sessions ({len(data['sessions'])} videos, watch --fast)",
               ("comfort", "wrong", "changes", "delay s", "mood ok", "frame ok"))
    t.columns[0].no_wrap = True  # engine names are one word: the headers wrap instead
    for engine, s in data["summary"].items():
        t.add_row(engine, f"{s['comforted']}/{s['due']}", str(s["wrong"]),
                  _f(s["changes_per_min"]), _f(s["mean_delay_s"]), _f(s["mood_right"], "{:.1%}"),
                  _f(s["raw_right"], "{:.1%}"))
    t.caption = ("comfort: sessions comforted of those due (a negative stretch of at least window + hold + "
                 "persist); wrong: comfort outside every negative stretch of at least persist_s (or window_s after "
                 "it); changes: mood changes a minute; delay: from the stretch's onset to comfort; ok: the steady "
                 "mood, and the frame's top emotion, against the truth once a second")
    out.append(t)
    for t in out:
        for table in (t.wide, t.narrow) if hasattr(t, "narrow") else (t,):
            whole_words(table)
    return out


def _session_cell(s: dict) -> str:
    care = ", ".join(f"{t:.1f}" for t in s["care_t"]) or "none"
    flag = f" ({s['wrong']} wrong)" if s["wrong"] else ""
    return f"care {care}{flag}; {s['changes']} changes"
