"""Render random care sessions from a labelled face set, for ``emocare bench --sessions``.

    python tests/make_sessions.py --dataset ../shared/data/fer2013/val --out out/sessions --per-kind 15 --seed 11

``--tilt DEG`` turns every face by DEG degrees, to the left or the right at random (a tilted head).

Like the shared ``sessions/``: 640x360, 15 fps, a new face each second (drawn at random from the dataset's
``<label>/`` folder for that second's truth), enlarged to 130-200 px at a random place on a grey, slightly
noisy background, with ``NAME.truth.csv`` (frame,t,label) beside each video. Four kinds, with random lengths:

- ``calm``: neutral for 20-40 s (no comfort expected);
- ``happy``: neutral 6-12 s, happy 6-14 s, neutral 6-12 s (no comfort expected);
- ``sad``: neutral 5-10 s, sad 10-18 s, neutral 5-10 s (comfort expected during the sad part);
- ``brief``: neutral 6-10 s, sad 1-2 s, neutral 6-10 s (a brief dip: no comfort expected).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

FPS, W, H = 15, 640, 360
KINDS = ("calm", "happy", "sad", "brief")


def plan(kind: str, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(label, seconds) segments of one session of ``kind``."""
    def r(a, b):
        return int(rng.integers(a, b + 1))
    return {"calm": [("neutral", r(20, 40))],
            "happy": [("neutral", r(6, 12)), ("happy", r(6, 14)), ("neutral", r(6, 12))],
            "sad": [("neutral", r(5, 10)), ("sad", r(10, 18)), ("neutral", r(5, 10))],
            "brief": [("neutral", r(6, 10)), ("sad", r(1, 2)), ("neutral", r(6, 10))]}[kind]


def place(face: np.ndarray, rng: np.random.Generator, tilt: float = 0.0):
    """A face crop enlarged to 130-200 px, where it goes in a W x H frame, and the turn (an affine map about its
    centre) when ``tilt``: (face, x, y, turn or None)."""
    size = int(rng.integers(130, 201))
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    pad = int(size * 0.21) if tilt else 0  # a turned square reaches 0.21 of its side further out
    x = int(rng.integers(20 + pad, W - size - 20 - pad))
    y = int(rng.integers(10 + pad, H - size - 10 - pad))
    turn = None
    if tilt:
        turn = cv2.getRotationMatrix2D((x + size / 2, y + size / 2), tilt * float(rng.choice([-1, 1])), 1.0)
    return face, x, y, turn


def compose(background: np.ndarray, face: np.ndarray, x: int, y: int, turn: np.ndarray | None) -> np.ndarray:
    """One frame: ``face`` pasted at (x, y) on a copy of ``background``, the whole frame turned by ``turn``."""
    canvas = background.copy()
    canvas[y:y + face.shape[0], x:x + face.shape[1]] = face
    if turn is not None:
        canvas = cv2.warpAffine(canvas, turn, (W, H), borderMode=cv2.BORDER_REPLICATE)
    return canvas


def render(path: Path, segments: list[tuple[str, int]], faces: dict[str, list[Path]], rng: np.random.Generator,
           tilt: float = 0.0) -> None:
    """One session video and its truth file; ``tilt``: each face turned by that many degrees, either way."""
    background = int(rng.integers(95, 125))
    noise = [np.clip(background + rng.normal(0, 2, (H, W)), 0, 255).astype(np.uint8) for _ in range(FPS)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    rows, frame = ["frame,t,label"], 0
    try:
        for label, seconds in segments:
            for _ in range(seconds):
                face = cv2.imread(str(faces[label][int(rng.integers(len(faces[label])))]), cv2.IMREAD_GRAYSCALE)
                face, x, y, turn = place(face, rng, tilt)
                for f in range(FPS):
                    canvas = compose(noise[f], face, x, y, turn)
                    writer.write(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR))
                    rows.append(f"{frame},{frame / FPS:.3f},{label}")
                    frame += 1
    finally:
        writer.release()
    path.with_suffix("").with_suffix(".truth.csv").write_text("\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, required=True, help="<label>/ folders of face crops")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-kind", type=int, default=15)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--tilt", type=float, default=0.0, help="turn every face this many degrees, either way")
    args = ap.parse_args(argv)
    faces = {label: sorted((args.dataset / label).glob("*.jpg")) + sorted((args.dataset / label).glob("*.png"))
             for label in ("neutral", "happy", "sad")}
    missing = [label for label, files in faces.items() if not files]
    if missing:
        raise SystemExit(f"{args.dataset}: no faces in {', '.join(missing)}/")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for kind in KINDS:
        for i in range(args.per_kind):
            render(args.out / f"{kind}{i:02d}.mp4", plan(kind, rng), faces, rng, args.tilt)
    print(f"{len(KINDS) * args.per_kind} sessions in {args.out}")


if __name__ == "__main__":
    main()
