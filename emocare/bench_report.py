"""Rendering of bench results: rich tables and a matplotlib figure (model and view kept apart)."""

from __future__ import annotations

from pathlib import Path

from emocare.faces import EMOTIONS


def _f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


def label(name: str, r: dict) -> str:
    return f"{name} (random weights)" if r.get("random_weights") else name


def tables(report):
    from rich.table import Table

    speed = Table(title=f"speed on {report.source} ({report.machine['cores']} cores, {report.machine['cpu']})",
                  title_justify="left")
    for col in ("engine", "FPS", "p50 ms", "p95 ms", "detect ms", "classify ms"):
        speed.add_column(col, justify="right" if col != "engine" else "left", overflow="fold")
    cost = Table(title="start-up, memory and size", title_justify="left")
    for col in ("engine", "cold start s", "peak RSS MB", "model MB", "deps MB"):
        cost.add_column(col, justify="right" if col != "engine" else "left", overflow="fold")
    notes: list[str] = []
    for name, r in report.engines.items():
        if not r.get("available"):
            speed.add_row(name, "[yellow]unavailable[/yellow]", *[""] * 4)
            notes.append(f"{name}: {r.get('reason')}")
            continue
        s = r.get("speed", {})
        if s:
            speed.add_row(label(name, r), _f(s.get("fps")), _f(s.get("p50_ms")), _f(s.get("p95_ms")),
                          _f(s.get("detect_ms")), _f(s.get("classify_ms")))
        cost.add_row(label(name, r), _f(r.get("cold_start_s"), "{:.2f}"), _f(r.get("peak_rss_mb"), "{:.0f}"),
                     _f(r.get("model_mb"), "{:.2f}"), _f(r.get("deps_mb"), "{:.0f}"))
    if notes:
        speed.caption = "\n".join(notes)
    out = [speed, cost] if speed.row_count else [cost]
    if any("accuracy" in r for r in report.engines.values()):
        acc = Table(title=f"accuracy on {report.dataset}{' (crops: the whole image is the face)' if report.crops else ''}",
                    title_justify="left")
        for col in ("engine", "n", "accuracy", "balanced", "neutral→neg", "ECE", "no face"):
            acc.add_column(col, justify="right" if col != "engine" else "left", overflow="fold")
        recall = Table(title="recall per emotion", title_justify="left")
        for col in ("engine", *[e[:4] for e in EMOTIONS]):
            recall.add_column(col, justify="right" if col != "engine" else "left", overflow="fold")
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
        out += [acc, recall]
    if report.agreement:
        names = list(report.agreement)
        ag = Table(title="agreement of dominant emotion on the same frames (both found a face)", title_justify="left")
        ag.add_column("", overflow="fold")
        for n in names:
            ag.add_column(n, justify="right", overflow="fold")
        for a in names:
            ag.add_row(a, *["-" if a == b else _f(report.agreement[a].get(b), "{:.2f}") for b in names])
        out.append(ag)
    return out


def detector_tables(result: dict):
    """Found-rate per face video, false faces per no-face file, and a summary row per detector."""
    from rich.table import Table

    out = []
    dets = list(result["summary"])

    def per_file(title: str, first: str, rows: dict, cell) -> None:
        if not rows:
            return
        t = Table(title=title, title_justify="left")
        t.add_column(first, overflow="fold")
        for d in dets:
            t.add_column(d, justify="right", overflow="fold")
        for name, per in rows.items():
            t.add_row(name, *[cell(per[d]) for d in dets])
        out.append(t)

    per_file("frames with a face (every frame holds one)", "video", result["face_videos"],
             lambda r: f"{r['found_rate']:.1%}")
    per_file("false faces on media with no face", "file", result["no_face"],
             lambda r: f"{r['false_faces']} in {r['frames_with_faces']}/{r['frames']}")
    t = Table(title="detectors", title_justify="left")
    for col in ("detector", "min found", "mean found", "false faces", "ms/frame", "p95 ms"):
        t.add_column(col, justify="right" if col != "detector" else "left", overflow="fold")
    for d, s in result["summary"].items():
        t.add_row(d, _f(s["min_found_rate"], "{:.1%}"), _f(s["mean_found_rate"], "{:.1%}"), str(s["false_faces"]),
                  _f(s["ms_per_frame"], "{:.2f}"), _f(s["p95_ms"], "{:.1f}"))
    t.caption = "ms: detection stage as watch runs it (detector every 10th frame, optical flow between)"
    out.append(t)
    return out


def pipeline_table(result: dict):
    from rich.table import Table

    t = Table(title=f"real-time pipeline on {result['source']} ({result['size']}, {result['frames']} frames; "
                    f"C-E detector: {result.get('detector', '?')}; DeepFace weights: {result['weights']})",
              title_justify="left")
    for col in ("loop", "FPS", "p50 ms", "p95 ms", "faces found", "agreement"):
        t.add_column(col, justify="right" if col != "loop" else "left", overflow="fold")
    labels = {"deepface_analyze": "A DeepFace.analyze", "fer_detect": "B FER.detect_emotions",
              "emocare_deepface": "C emocare + DeepFace model", "emocare_fer": "D emocare + FER model",
              "emocare": "E emocare + its own model"}
    for key, label in labels.items():
        if key not in result:
            continue
        r = result[key]
        agree = r.get("agreement_vs_deepface", r.get("agreement_vs_fer"))
        t.add_row(label, f"{r['fps']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['faces_found_rate']:.0%}",
                  _f(agree, "{:.3f}") + (" vs A" if key == "emocare_deepface" else " vs B" if key == "emocare_fer" else ""))
    ratios = ", ".join(f"{k} = {v:.1f}x" for k, v in result["ratios"].items())
    t.caption = f"ratios: {ratios}"
    return t


def plot(report, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    avail = {n: r for n, r in report.engines.items() if r.get("available")}
    with_acc = {n: r for n, r in avail.items() if "accuracy" in r}
    names = [label(n, r) for n, r in avail.items()]
    panels = []
    if any("speed" in r for r in avail.values()):
        panels.append("speed")
    if with_acc:
        panels.append("accuracy")
    panels.append("cold")
    ncols = 3
    nrows = 1 + (len(with_acc) + ncols - 1) // ncols
    fig, grid = plt.subplots(nrows, ncols, figsize=(17, 4.4 * nrows), dpi=100, squeeze=False)
    top = list(grid[0])
    for ax in top[len(panels):]:
        ax.set_axis_off()
    for ax, panel in zip(top, panels):
        if panel == "speed":
            fps = [r.get("speed", {}).get("fps", 0) for r in avail.values()]
            bars = ax.barh(names, fps, color="#4c78a8")
            ax.bar_label(bars, fmt="%.1f", padding=3)
            ax.set_xlabel("frames per second (higher is better)")
            ax.set_title(f"speed on {Path(report.source).name}")
            ax.invert_yaxis()
        elif panel == "cold":
            cold = [r.get("cold_start_s", 0) for r in avail.values()]
            bars = ax.barh(names, cold, color="#e15759")
            ax.bar_label(bars, fmt="%.2f", padding=3)
            ax.set_xlabel("seconds from process start to model ready")
            ax.set_title("cold start (lower is better)")
            ax.invert_yaxis()
        else:
            accs = [r["accuracy"]["accuracy"] * 100 for r in with_acc.values()]
            bal = [r["accuracy"]["balanced_accuracy"] * 100 for r in with_acc.values()]
            y = np.arange(len(with_acc))
            b1 = ax.barh(y - 0.2, accs, 0.4, label="accuracy", color="#59a14f")
            b2 = ax.barh(y + 0.2, bal, 0.4, label="balanced", color="#9c755f")
            ax.bar_label(b1, fmt="%.1f", padding=3)
            ax.bar_label(b2, fmt="%.1f", padding=3)
            ax.set_yticks(y, [label(n, r) for n, r in with_acc.items()])
            ax.set_xlim(0, 100)
            ax.set_xlabel("% on " + Path(str(report.dataset)).name)
            ax.legend(loc="lower right", fontsize=8)
            ax.set_title("accuracy")
            ax.invert_yaxis()
    axes = [None, None] + [grid[r][c] for r in range(1, nrows) for c in range(ncols)]
    for ax in axes[2 + len(with_acc):]:
        ax.set_axis_off()
    for ax, (name, r) in zip(axes[2:], with_acc.items()):
        cm = np.array(r["accuracy"]["confusion"], dtype=float)
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
        ax.set_title(f"{label(name, r)} (row-normalised)")
    from emocare.report import save_figure

    return save_figure(fig, path)
