"""Fit how a detected face is framed for the emotion models (``emocare/models/framing.json``), and check it.

    python tools/fit_framing.py --dataset ../shared/data/fer2013/train --faces 14000 --seed 3
    python tools/fit_framing.py --check ../shared/data/fer2013/val --json out/framing-check.json

Fitting: each of ``--faces`` crops drawn from ``--dataset`` is placed in a 640x360 frame exactly as
``make_sessions.py`` places a session's faces (enlarged to 130-200 px on a grey, slightly noisy background),
half of them upright and half turned by up to ``--tilt`` degrees, then JPEG-compressed (quality 85, as a
video's frames are). BlazeFace (emocare's video detector) runs on the frame, and the framing is where the
crop itself was relative to the detector's box: the median over the faces (``emocare.engines.framing``).
Fit on FER2013's *training* split only: the validation split stays for ``--check``.

Checking: every face of ``--check`` is placed the same way, upright and turned by 30 degrees, and each
emotion model reads it framed three ways: the square the face was pasted as (the crop itself: the best any
framing can do), BlazeFace's box squared and grown 1.25x (emocare's framing before this fit) and the fitted
framing. Faces the detector misses are left out of all three. ``--photos DIR`` adds a check that needs no
labels and no pasting: where the eyes and mouth of real faces land in each framing's square, against where
they land in FER2013's crops (measured on the fitting faces).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_sessions import H, W, compose, place  # noqa: E402

from emocare.engines import framing  # noqa: E402
from emocare.engines.blazeface import BlazeFaceDetector  # noqa: E402
from emocare.faces import EMOTIONS  # noqa: E402

NEGATIVE = ("angry", "disgust", "fear", "sad")


def face_box(det_box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    """A detector box squared about its centre and scaled: emocare's framing before ``framing.py`` (x1.25), the
    baseline ``--check`` compares against."""
    x, y, w, h = det_box
    side = max(w, h) * scale
    cx, cy = x + w / 2, y + h / 2
    return (int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side)), int(round(side)))


def crops(dataset: Path, n: int | None, rng: np.random.Generator) -> list[tuple[str, Path]]:
    files = [(label, p) for label in EMOTIONS for p in sorted((dataset / label).glob("*.jpg"))]
    if not files:
        raise SystemExit(f"{dataset}: no <label>/*.jpg crops")
    if n is not None and n < len(files):
        files = [files[i] for i in sorted(rng.choice(len(files), n, replace=False))]
    return files


def frame(face: np.ndarray, rng: np.random.Generator, tilt: float):
    """``face`` placed in a frame: (grey frame, the square it was pasted as (cx, cy, side), its tilt)."""
    background = np.clip(int(rng.integers(95, 125)) + rng.normal(0, 2, (H, W)), 0, 255).astype(np.uint8)
    face, x, y, turn = place(face, rng, tilt)
    image = compose(background, face, x, y, turn)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    size = face.shape[0]
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE), (x + size / 2.0, y + size / 2.0, float(size)), turn


def nearest(found, square):
    """The detection nearest the pasted face, or None (a detection farther than half the face is not it)."""
    far = [(np.hypot(d.box[0] + d.box[2] / 2 - square[0], d.box[1] + d.box[3] / 2 - square[1]), k) for k, d in enumerate(found)]
    distance, k = min(far, default=(np.inf, -1))
    return found[k] if distance <= square[2] / 2 else None


def landmarks_in(square, keypoints) -> list[float]:
    """Where a face's eyes and mouth land in a square crop (x, y, side), as fractions of its side: the eyes'
    midpoint across and down, the eye-to-mouth distance and the distance between the eyes."""
    x, y, side = square[0], square[1], square[2]
    kp = np.asarray(keypoints, np.float64)
    eyes = (kp[0] + kp[1]) / 2
    return [(eyes[0] - x) / side, (eyes[1] - y) / side, float(np.hypot(*(kp[3] - eyes))) / side,
            float(np.hypot(*(kp[1] - kp[0]))) / side]


LANDMARKS = ("eyes across", "eyes down", "eyes to mouth", "eye to eye")


def run_fit(args) -> None:
    rng = np.random.default_rng(args.seed)
    detector = BlazeFaceDetector("back")
    y, upright, t0 = [], [], time.perf_counter()
    files = crops(args.dataset, args.faces, rng)
    for k, (_, path) in enumerate(files):
        tilt = 0.0 if k % 2 == 0 else float(rng.uniform(0, args.tilt))
        image, square, _ = frame(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), rng, tilt)
        d = nearest(detector.detect(image), square)
        if d is not None:
            y.append(framing.targets(d.box, d.keypoints, square))
            if tilt == 0.0:
                upright.append(landmarks_in((square[0] - square[2] / 2, square[1] - square[2] / 2, square[2]), d.keypoints))
    y = np.array(y)
    med = np.median(y, axis=0)
    out = {
        "fitted_by": "python tools/fit_framing.py " + " ".join(sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "dataset": str(args.dataset),
        "faces": len(files), "detected": len(y), "max_tilt_deg": args.tilt,
        **{k: round(float(v), 4) for k, v in zip(framing.TARGETS, med)},
        "mean_abs_error": dict(zip(framing.TARGETS, (round(float(v), 4) for v in np.abs(y - med).mean(axis=0)))),
        # where the eyes and mouth land in FER2013's own crops (upright faces): --photos compares real faces' crops
        "landmarks_in_crop": dict(zip(LANDMARKS, (round(float(v), 4) for v in np.median(upright, axis=0)))),
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(y)} of {len(files)} faces detected; measured in {time.perf_counter() - t0:.0f} s -> {args.out}")
    print("crop relative to the box (box sides): " + ", ".join(f"{k} {out[k]}" for k in framing.TARGETS)
          + "; mean error of that: " + ", ".join(f"{k} {v}" for k, v in out["mean_abs_error"].items()))


def check_photos(photos: Path, fitted: framing.Framing, fer: dict, report: dict) -> None:
    """Where real faces' eyes and mouth land in each framing's square, against FER2013's crops."""
    from emocare.sources import load_image

    detector = BlazeFaceDetector("back", tiles=2)
    found = []
    for path in sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        try:
            image = load_image(path)
        except Exception:  # noqa: BLE001 - a photo that cannot be read is left out
            continue
        found += [(d.box, d.keypoints) for d in detector.detect(image)]
    rows = {"FER2013's crops": [fer[k] for k in LANDMARKS]}
    rows["box x1.25"] = np.median([landmarks_in(face_box(b, 1.25), k) for b, k in found], axis=0).tolist()
    rows["fitted"] = np.median([landmarks_in(fitted.square(b, k)[0], k) for b, k in found], axis=0).tolist()
    report["photos"] = {"dir": str(photos), "faces": len(found), "rows": {k: [round(v, 3) for v in r] for k, r in rows.items()}}
    print(f"\n{photos}: {len(found)} real faces; where their eyes and mouth land in the square (median, fractions of its side)")
    print("| framing | " + " | ".join(LANDMARKS) + " |")
    print("| --- |" + " --- |" * len(LANDMARKS))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in r) + " |")


def run_check(args) -> None:
    from emocare.engines.classifiers import FerTFLite
    from emocare.engines.crops import cut
    from emocare.engines.emocare_model import EmocareNet

    fitted = framing.Framing.read(args.framing)
    detector = BlazeFaceDetector("back")
    unverified = BlazeFaceDetector("back", verify=None)  # for the faces not found: no box at all, or the verifier's no
    models = {"emocare": EmocareNet(), "emocare-fer": FerTFLite()}
    rng = np.random.default_rng(args.seed)
    files = crops(args.check, args.faces, rng)
    ways = ("crop itself", "box x1.25", "fitted")
    report = {"dataset": str(args.check), "framing": str(args.framing), "faces": len(files), "rows": []}
    for tilt in (0.0, 30.0):
        inputs = {m: {w: [] for w in ways} for m in models}
        labels = []
        not_found = {e: [0, 0, 0] for e in EMOTIONS}  # per true label: faces placed, not found, of which the verifier's
        for label, path in files:
            image, (cx, cy, side), turn = frame(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), rng, tilt)
            d = nearest(detector.detect(image), (cx, cy, side))
            not_found[label][0] += 1
            if d is None:
                not_found[label][1] += 1
                not_found[label][2] += nearest(unverified.detect(image), (cx, cy, side)) is not None
                continue
            roll = framing.eye_roll(d.keypoints)
            pasted = (int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side)), int(round(side)))
            true_roll = 0.0 if turn is None else float(np.degrees(np.arctan2(turn[1, 0], turn[0, 0])))
            faces = {"crop itself": framing.level(image, pasted, true_roll) if tilt else cut(image, pasted),
                     "box x1.25": framing.level(image, face_box(d.box, 1.25), roll),
                     "fitted": framing.level(image, *fitted.square(d.box, d.keypoints))}
            labels.append(EMOTIONS.index(label))
            for m, clf in models.items():
                for w, face in faces.items():
                    inputs[m][w].append(clf.preprocess(face, (0, 0, face.shape[1], face.shape[0]), crop_only=True))
        report.setdefault("not_found", {})[f"{tilt:.0f}"] = {e: round(100 * m / n, 1) for e, (n, m, _) in not_found.items() if n}
        _, missed, refused = np.array(list(not_found.values())).sum(axis=0)
        report.setdefault("verifier_share", {})[f"{tilt:.0f}"] = round(100 * refused / max(missed, 1), 1)
        labels = np.array(labels)
        neutral = labels == EMOTIONS.index("neutral")
        for m, clf in models.items():
            for w in ways:
                batch = np.stack(inputs[m][w])
                pred = np.concatenate([clf.predict(batch[i:i + 256]) for i in range(0, len(batch), 256)]).argmax(axis=1)
                neg = np.isin(pred, [EMOTIONS.index(e) for e in NEGATIVE])
                report["rows"].append({"tilt_deg": tilt, "model": m, "framing": w, "faces": int(len(labels)),
                                       "missed": int(missed), "accuracy": round(float(np.mean(pred == labels)) * 100, 2),
                                       "neutral_as_negative": round(float(neg[neutral].mean()) * 100, 2),
                                       "recall": {e: round(float(np.mean(pred[labels == i] == i)), 3)
                                                  for i, e in enumerate(EMOTIONS) if np.any(labels == i)}})
    print(f"{args.check}: {len(files)} faces, placed upright and turned 30 degrees (faces the detector missed left out)")
    print("| turned | model | framing | faces read | accuracy | neutral read as negative |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in report["rows"]:
        print(f"| {r['tilt_deg']:.0f}° | {r['model']} | {r['framing']} | {r['faces']} | {r['accuracy']:.1f}% | "
              f"{r['neutral_as_negative']:.1f}% |")
    for tilt, shares in report["not_found"].items():
        print(f"faces not found, turned {tilt}°: " + ", ".join(f"{e} {v:.1f}%" for e, v in shares.items())
              + f" ({report['verifier_share'][tilt]:.0f}% of them boxed by the detector and rejected by the verifier)")
    if args.photos:
        check_photos(args.photos, fitted, json.loads(args.framing.read_text())["landmarks_in_crop"], report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, help="<label>/ folders of FER2013 training crops to measure on")
    ap.add_argument("--faces", type=int, default=None, help="how many crops to draw (default: all)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--tilt", type=float, default=30.0, help="half the faces are turned by up to this, either way")
    ap.add_argument("--out", type=Path, default=framing.FRAMING_PATH)
    ap.add_argument("--check", type=Path, help="<label>/ folders to check the framing on (not the fit's)")
    ap.add_argument("--framing", type=Path, default=framing.FRAMING_PATH, help="the framing --check reads")
    ap.add_argument("--photos", type=Path, help="with --check: real photos to see where their faces land")
    ap.add_argument("--json", type=Path, help="--check's figures as JSON")
    args = ap.parse_args(argv)
    if args.check:
        run_check(args)
    elif args.dataset:
        run_fit(args)
    else:
        ap.error("give --dataset to fit or --check to check")


if __name__ == "__main__":
    main()
