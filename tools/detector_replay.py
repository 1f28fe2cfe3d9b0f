"""Face-confirmation settings measured without re-running the detector: run BlazeFace (and the face check's
networks: the landmark model's face presence, MTCNN's ONet, and CenterFace where watch asks it) once on every frame of
the face sessions and of the no-face inputs, record each frame's candidate boxes, then replay
``confirm.Confirmer`` on the recording under other settings.

    python tools/detector_replay.py --faces out/det26 --faces ../shared/data/sessions --no-face tests/data/pyfeat_no_face.mp4 --no-face tests/data/skimage_brick.jpg --record out/detector-replay-watch.jsonl passes=3,2 floor=0.01,0.003

Each ``NAME=V1,V2`` is a ``Confirmer`` argument (``emocare/engines/lite.py``'s ``CONFIRM`` holds the shipped ones)
and the values to try; every combination is scored: frames with a face per session (the worst, the mean, how many
under 97%), per true emotion where ``NAME.truth.csv`` is beside a video, and false frames on the no-face inputs.
A still no-face image is replayed as held before a camera: 60 frames of a slow zoom (1x to 2x) and 60 of a pan,
with sensor noise. The replay detects on every frame, the way a stream detects while a box waits for
confirmation; between detections ``watch`` carries confirmed faces by optical flow, so its own figures (``emocare
bench --faces-videos``) differ slightly (and it does not check again a box on a face it knows: there the closer
look's box is not held to the presence floor). The recording is reused when it exists: delete it after changing the
detector, or to record with another ``--min-score`` (a recording keeps the detector it was made with).
``--first-look`` replays without the boxes the detector's closer second look at weak boxes found (as before it). ``--check
presence`` replays on the landmark model's score alone (the face check before ONet), ``--check first-square`` on
ONet's first square for the streak too (the check before its second square); ``--check two`` without CenterFace
(the check before it joined).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emocare.engines.blazeface import BlazeFaceDetector  # noqa: E402
from emocare.engines.confirm import Candidate, Confirmer  # noqa: E402
from emocare.engines.lite import CONFIRM, SECOND_LOOK, STREAM_MIN_SCORE  # noqa: E402

VIDEO = {".mp4", ".avi", ".mov", ".mkv"}
IMAGE = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
# candidates are recorded down to the BlazeFace score the stream's detector keeps: weighted suppression merges
# the boxes above it, so a lower one moves the merged boxes (at 0.3 the replay missed false faces watch saw)
MIN_SCORE = STREAM_MIN_SCORE


def held_before_camera(image: np.ndarray, seed: int = 0):
    """A still image as a camera sees it when held up: 60 frames zooming 1x to 2x, then 60 panning across."""
    h, w = image.shape[:2]
    rng = np.random.default_rng(seed)
    for mode in ("zoom", "pan"):
        for k in range(60):
            if mode == "zoom":
                zoom = 1 + k / 59
                cw, ch = int(w / zoom), int(h / zoom)
                x0, y0 = (w - cw) // 2, (h - ch) // 2
            else:
                cw, ch = int(w / 1.6), int(h / 1.6)
                x0, y0 = int((w - cw) * k / 59), (h - ch) // 3
            view = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], (640, 480))
            yield mode, np.clip(view + rng.normal(0, 2, view.shape), 0, 255).astype(np.uint8)


def frames_of(path: Path):
    """(name, frame) for every frame of a video, or of a still held before the camera."""
    if path.suffix.lower() in VIDEO:
        cap = cv2.VideoCapture(str(path))
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield str(path), frame
        cap.release()
        return
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"{path}: not an image")
    for mode, frame in held_before_camera(image):
        yield f"{path}:{mode}", frame


def media(paths: list[Path], kinds: set[str], leave_out: tuple[str, ...] = ()) -> list[Path]:
    """The files of ``paths`` (folders opened) of those kinds, but for names that start with one of ``leave_out``."""
    out = []
    for p in paths:
        out += sorted(q for q in p.iterdir() if q.suffix.lower() in kinds) if p.is_dir() else [p]
    return [q for q in out if not q.name.startswith(leave_out)]


def truth(video: str) -> list[str]:
    path = Path(video).with_suffix(".truth.csv")
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [row["label"] for row in csv.DictReader(f)]


def record(faces: list[Path], no_face: list[Path], out: Path, leave_out: tuple[str, ...] = (),
           min_score: float = MIN_SCORE) -> None:
    """One line per frame: the input, whether it holds a face, its true emotion, and the candidates (box,
    BlazeFace's score, presence, ONet's probability on each square, 1 when the stream detector's closer second
    look found it (``lite.SECOND_LOOK``, as watch runs it) else 0, and CenterFace's score or None). CenterFace is
    asked where watch asks it (``lite.CONFIRM``'s ``accept_score`` and one look's thresholds): a grid that moves
    those replays the boxes between with no CenterFace score, so its rules count less there."""
    detector = BlazeFaceDetector("back", min_score=min_score, centre=CONFIRM["accept_score"], **SECOND_LOOK)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for kind, paths in (("face", media(faces, VIDEO)), ("none", media(no_face, VIDEO | IMAGE, leave_out))):
            for path in paths:
                labels = truth(str(path)) if kind == "face" else []
                for i, (name, frame) in enumerate(frames_of(path)):
                    found = [[list(d.box), round(float(d.score), 4), round(float(d.presence), 5),
                              [round(float(v), 5) for v in d.onet], int(d.closer),
                              None if d.centre is None else round(float(d.centre), 4)] for d in detector.scored(frame)]
                    f.write(json.dumps({"input": name, "kind": kind, "label": labels[i] if i < len(labels) else None,
                                        "candidates": found}) + "\n")
                print(f"recorded {path}", file=sys.stderr)


def _onet(candidate: list, check: str):
    """The ONet scores a recorded candidate is replayed with, for ``check``."""
    if len(candidate) < 4 or check == "presence":
        return None
    onet = candidate[3]
    return onet[:1] if check == "first-square" and isinstance(onet, list) else onet


def _candidate(c: list, check: str) -> Candidate:
    """A recorded candidate as the confirmer sees it. Older recordings end earlier: before CenterFace, after ONet
    (``[box, score, presence, onet]``, then a 1 when the closer look found it); before ONet, after the presence."""
    centre = c[5] if len(c) > 5 and check == "both" else None
    return Candidate(tuple(c[0]), c[1], c[2], _onet(c, check), bool(c[4]) if len(c) > 4 else False, centre)


def replay(frames: list[dict], settings: dict, check: str = "both", first_look: bool = False) -> dict:
    """Frames with a face per face input, per true emotion, and false frames per no-face input. ``first_look``:
    without the boxes of the closer second look."""
    floor = min(settings.get("accept_score", 0.0), settings.get("streak_score", 0.0))
    found: dict[str, list[bool]] = {}
    by_emotion: dict[str, list[int]] = {}
    confirmers: dict[str, Confirmer] = {}
    for r in frames:
        confirmer = confirmers.setdefault(r["input"], Confirmer(**settings))
        # a recording made before ONet joined the check has no ONet score (the landmark model's alone), one made
        # before its second square one number
        verdict = confirmer.update([_candidate(c, check) for c in r["candidates"]
                                    if c[1] >= floor and not (first_look and len(c) > 4 and c[4])])
        seen = bool(verdict.faces or verdict.kept)
        found.setdefault(r["input"], []).append(seen)
        if r["label"]:
            tally = by_emotion.setdefault(r["label"], [0, 0])
            tally[0] += 1
            tally[1] += seen
    kinds = {r["input"]: r["kind"] for r in frames}
    rates = {k: sum(v) / len(v) for k, v in found.items() if kinds[k] == "face"}
    false = {k: sum(v) for k, v in found.items() if kinds[k] == "none" and any(v)}
    return {"worst": min(rates.values(), default=None), "mean": float(np.mean(list(rates.values()))) if rates else None,
            "under_97": sum(v < 0.97 for v in rates.values()), "sessions": len(rates),
            "by_emotion": {e: t[1] / t[0] for e, t in sorted(by_emotion.items())},
            "false_frames": sum(false.values()), "false_by_input": false}


def grid(specs: list[str]) -> list[dict]:
    axes = []
    for spec in specs:
        name, _, values = spec.partition("=")
        if not values:
            raise SystemExit(f"{spec}: expected NAME=V1,V2")
        axes.append([(name, float(v) if "." in v else int(v)) for v in values.split(",")])
    return [dict(CONFIRM, **dict(combo)) for combo in itertools.product(*axes)] if axes else [dict(CONFIRM)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=Path, action="append", default=[], help="face session videos or folders")
    ap.add_argument("--no-face", type=Path, action="append", default=[], help="no-face videos or still images")
    ap.add_argument("--leave-out", action="append", default=[], metavar="PREFIX",
                    help="no-face files whose name starts so are left out (a folder's pictures that show a face)")
    ap.add_argument("--record", type=Path, required=True, help="the recording (made when missing)")
    ap.add_argument("--min-score", type=float, default=MIN_SCORE,
                    help=f"BlazeFace score a recorded candidate needs (default {MIN_SCORE}, as watch's detector)")
    ap.add_argument("--first-look", action="store_true",
                    help="replay without the boxes of the detector's closer second look at weak boxes (as before it)")
    ap.add_argument("--check", choices=("both", "two", "first-square", "presence"), default="both",
                    help="the face check: every network as shipped, the two without CenterFace, both with ONet's "
                         "first square alone, or the landmark model's presence alone")
    ap.add_argument("settings", nargs="*", help="NAME=V1,V2: Confirmer arguments to try")
    args = ap.parse_args(argv)
    if not args.record.exists():
        record(args.faces, args.no_face, args.record, tuple(args.leave_out), args.min_score)
    frames = [json.loads(line) for line in args.record.open()]
    for settings in grid(args.settings):
        changed = {k: v for k, v in settings.items() if CONFIRM.get(k) != v}
        r = replay(frames, settings, args.check, args.first_look)
        emotions = " ".join(f"{e} {v:.1%}" for e, v in r["by_emotion"].items())
        name = str(changed or "shipped") + {"presence": " (landmark model alone)", "two": " (without CenterFace)",
                                            "first-square": " (ONet's first square alone)"}.get(args.check, "") \
            + (" (first look only)" if args.first_look else "")
        print(f"{name}: worst {r['worst']:.1%}, mean {r['mean']:.1%}, under 97% "
              f"{r['under_97']}/{r['sessions']}; {emotions}; false frames {r['false_frames']} {r['false_by_input']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
