"""Render random care sessions from a labelled face set, for ``emocare bench --sessions``.

    python tools/make_sessions.py --dataset ../shared/data/fer2013/val --out out/sessions --per-kind 15 --seed 11

``--tilt DEG`` turns every face by DEG degrees, to the left or the right at random (a tilted head).

``--votes CSV --agreement 0.7`` (FER+ votes for the dataset's faces, ``emocare.lab.votes``): each second's face is
drawn only from faces whose annotators agree on that label (at least that share of their emotion votes), not
from FER2013's folder, so a "calm" session holds faces people call calm:

    python tools/make_sessions.py --dataset ../shared/data/fer2013/val --votes ../shared/data/fer2013/ferplus_val.csv --agreement 0.7 --hold 1,3 --out out/sessions-votes --per-kind 15 --seed 11

``--hold SECONDS`` keeps each face on screen that long (a person at a desk is one face for minutes); a list
such as ``1,3`` alternates between the values from one session to the next (the value is in the file name).

Like the shared ``sessions/``: 640x360, 15 fps, a new face each second (drawn at random from the dataset's
``<label>/`` folder for that second's truth), enlarged to 130-200 px at a random place on a grey, slightly
noisy background, with ``NAME.truth.csv`` beside each video: frame,t,label and where the face is, x,y,side,turn
(its square in pixels, and the degrees it is turned about the square's centre, anticlockwise; ``emocare bench
--faces-videos`` then counts a frame only when a box is at the face). Four kinds, with random lengths:

- ``calm``: neutral for 20-40 s (no comfort expected);
- ``happy``: neutral 6-12 s, happy 6-14 s, neutral 6-12 s (no comfort expected);
- ``sad``: neutral 5-10 s, sad 10-18 s, neutral 5-10 s (comfort expected during the sad part);
- ``brief``: neutral 6-10 s, sad 1-2 s, neutral 6-10 s (a brief dip: no comfort expected).

``--kinds`` picks other kinds (a comma list). For the face detector (``emocare bench --faces-videos``, which
reports the found-rate per emotion from the truth files): ``angry``, ``disgust``, ``fear``, ``surprise`` (neutral
3-6 s, that emotion 8-14 s, neutral 3-6 s), ``mixed`` (all seven emotions in a random order, 3-6 s each) and
``tour`` (all seven in a random order, 1 s each: a clip small enough for ``tests/data``);
``--kinds detector`` is ``calm,happy,sad,angry,disgust,fear,surprise,mixed``, every emotion. ``--face-size
80-120`` draws smaller faces (a person at a desk 1.5 m from the camera), ``--frame 640x480`` renders a webcam's
frame instead of 640x360, ``--prefix`` starts each file name:

    python tools/make_sessions.py --dataset ../shared/data/fer2013/val --votes ../shared/data/fer2013/ferplus_val.csv --agreement 0.7 --kinds detector --per-kind 2 --hold 1,3 --face-size 80-120 --tilt 30 --prefix small-tilt30- --out out/detector-sessions
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

FPS, W, H = 15, 640, 360
KINDS = ("calm", "happy", "sad", "brief")
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # emocare.faces.EMOTIONS
DETECTOR_KINDS = ("calm", "happy", "sad", "angry", "disgust", "fear", "surprise", "mixed")
FACE_SIZE = (130, 200)


def plan(kind: str, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(label, seconds) segments of one session of ``kind``."""
    def r(a, b):
        return int(rng.integers(a, b + 1))
    if kind in ("angry", "disgust", "fear", "surprise"):
        return [("neutral", r(3, 6)), (kind, r(8, 14)), ("neutral", r(3, 6))]
    if kind in ("mixed", "tour"):
        return [(EMOTIONS[i], r(3, 6) if kind == "mixed" else 1) for i in rng.permutation(len(EMOTIONS))]
    return {"calm": [("neutral", r(20, 40))],
            "happy": [("neutral", r(6, 12)), ("happy", r(6, 14)), ("neutral", r(6, 12))],
            "sad": [("neutral", r(5, 10)), ("sad", r(10, 18)), ("neutral", r(5, 10))],
            "brief": [("neutral", r(6, 10)), ("sad", r(1, 2)), ("neutral", r(6, 10))]}[kind]


def place(face: np.ndarray, rng: np.random.Generator, tilt: float = 0.0, size_range: tuple[int, int] = FACE_SIZE,
          frame: tuple[int, int] = (W, H)):
    """A face crop enlarged to ``size_range`` px (130-200), where it goes in a ``frame`` (width, height), and the
    turn (an affine map about its centre) when ``tilt``: (face, x, y, turn or None)."""
    size = int(rng.integers(size_range[0], size_range[1] + 1))
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    pad = int(size * 0.21) if tilt else 0  # a turned square reaches 0.21 of its side further out
    x = int(rng.integers(20 + pad, frame[0] - size - 20 - pad))
    y = int(rng.integers(10 + pad, frame[1] - size - 10 - pad))
    turn = None
    if tilt:
        turn = cv2.getRotationMatrix2D((x + size / 2, y + size / 2), tilt * float(rng.choice([-1, 1])), 1.0)
    return face, x, y, turn


def compose(background: np.ndarray, face: np.ndarray, x: int, y: int, turn: np.ndarray | None) -> np.ndarray:
    """One frame: ``face`` pasted at (x, y) on a copy of ``background``, the whole frame turned by ``turn``."""
    canvas = background.copy()
    canvas[y:y + face.shape[0], x:x + face.shape[1]] = face
    if turn is not None:
        canvas = cv2.warpAffine(canvas, turn, canvas.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    return canvas


def render(path: Path, segments: list[tuple[str, float]], faces: dict[str, list[Path]], rng: np.random.Generator,
           tilt: float = 0.0, hold: float = 1.0, size_range: tuple[int, int] = FACE_SIZE,
           frame_size: tuple[int, int] = (W, H)) -> None:
    """One session video and its truth file; ``tilt``: each face turned by that many degrees, either way;
    ``hold``: seconds each face stays (the last face of a segment stays what is left of it); ``size_range``: the
    faces' sides in pixels; ``frame_size``: the video's width and height."""
    background = int(rng.integers(95, 125))
    width, height = frame_size
    noise = [np.clip(background + rng.normal(0, 2, (height, width)), 0, 255).astype(np.uint8) for _ in range(FPS)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    rows, frame = ["frame,t,label,x,y,side,turn"], 0
    try:
        for label, seconds in segments:
            shown, length = 0, int(round(seconds * FPS))
            while shown < length:
                face = cv2.imread(str(faces[label][int(rng.integers(len(faces[label])))]), cv2.IMREAD_GRAYSCALE)
                face, x, y, turn = place(face, rng, tilt, size_range, frame_size)
                frames = min(int(round(hold * FPS)), length - shown)
                shown += frames
                degrees = 0.0 if turn is None else float(np.degrees(np.arctan2(turn[0, 1], turn[0, 0])))
                for f in range(frames):
                    canvas = compose(noise[f % FPS], face, x, y, turn)
                    writer.write(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR))
                    # where the face is: its square, and the turn about its centre (cv2.getRotationMatrix2D's
                    # degrees: anticlockwise on screen)
                    rows.append(f"{frame},{frame / FPS:.3f},{label},{x},{y},{face.shape[1]},{degrees:g}")
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
    ap.add_argument("--votes", type=Path, help="FER+ votes for the dataset's faces: draw faces by what annotators agree on")
    ap.add_argument("--agreement", type=float, default=0.7, help="with --votes: the share of votes a face's label needs")
    ap.add_argument("--hold", default="1", help="seconds each face stays; a list (1,3) alternates between sessions")
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help=f"session kinds, a comma list; 'detector' is {','.join(DETECTOR_KINDS)}")
    ap.add_argument("--face-size", default=f"{FACE_SIZE[0]}-{FACE_SIZE[1]}", help="the faces' sides in pixels, MIN-MAX")
    ap.add_argument("--frame", default=f"{W}x{H}", help="the video's width and height in pixels, WxH (a webcam's 640x480)")
    ap.add_argument("--prefix", default="", help="put before each session's file name")
    ap.add_argument("--plan", help="one fixed session instead of --kinds: LABEL:SECONDS,... such as "
                                   "neutral:6,sad:14,neutral:6 (the shared sad_sustained's)")
    ap.add_argument("--name", help="with --plan: the file name (without .mp4); several sessions get 00, 01, ...")
    args = ap.parse_args(argv)
    kinds = [k for part in args.kinds.split(",") for k in (DETECTOR_KINDS if part == "detector" else (part,))]
    fixed = fixed_plan(args.plan) if args.plan else None
    if fixed:
        kinds = ["plan"]

    def segments(kind: str, rng: np.random.Generator) -> list[tuple[str, float]]:
        return fixed if fixed else plan(kind, rng)

    rng_probe = np.random.default_rng(0)
    for kind in kinds:
        try:
            segments(kind, rng_probe)
        except KeyError:
            raise SystemExit(f"--kinds: unknown kind {kind!r}") from None
    try:
        size_range = tuple(int(v) for v in args.face_size.split("-"))
    except ValueError:
        size_range = ()
    try:
        frame = tuple(int(v) for v in args.frame.lower().split("x"))
    except ValueError:
        frame = ()
    if len(frame) != 2 or not (160 <= frame[0] <= 3840 and 120 <= frame[1] <= 2160):
        raise SystemExit(f"--frame {args.frame}: expected WIDTHxHEIGHT pixels, such as 640x480 (160x120 to 3840x2160)")
    # a face is placed 20 px from the sides and 10 px from the top and bottom; turned, it reaches 0.21 of its side
    # further out on each side (``place``)
    largest = int((min(frame[0] - 40, frame[1] - 20) - 1) / (1.42 if args.tilt else 1.0))
    if len(size_range) != 2 or not 24 <= size_range[0] <= size_range[1] <= largest:
        raise SystemExit(f"--face-size {args.face_size}: expected MIN-MAX pixels, such as 80-120 (24 to {largest}"
                         f"{' turned' if args.tilt else ''} in a {frame[0]}x{frame[1]} frame)")
    try:
        holds = [float(h) for h in args.hold.split(",")]
    except ValueError:
        raise SystemExit(f"--hold {args.hold}: expected seconds, or a list such as 1,3") from None
    if not holds or min(holds) * FPS < 1:
        raise SystemExit(f"--hold {args.hold}: each value must be at least 1/{FPS} s")
    labels = tuple(e for e in EMOTIONS if any(e == label for kind in kinds for label, _ in segments(kind, rng_probe)))
    if args.votes:
        faces = agreed_faces(args.dataset, args.votes, args.agreement, labels)
    else:
        faces = {label: sorted((args.dataset / label).glob("*.jpg")) + sorted((args.dataset / label).glob("*.png"))
                 for label in labels}
    missing = [label for label, files in faces.items() if not files]
    if missing:
        raise SystemExit(f"{args.dataset}: no faces in {', '.join(missing)}/")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for kind in kinds:
        for i in range(args.per_kind):
            hold = holds[i % len(holds)]
            name = f"{args.prefix}{kind}{i:02d}" + (f"-hold{hold:g}s" if len(holds) > 1 or hold != 1 else "")
            if fixed and args.name:
                name = args.name + (f"{i:02d}" if args.per_kind > 1 else "")
            render(args.out / f"{name}.mp4", segments(kind, rng), faces, rng, args.tilt, hold, size_range, frame)
    print(f"{len(kinds) * args.per_kind} sessions in {args.out}")


def fixed_plan(text: str) -> list[tuple[str, float]]:
    """``--plan neutral:6,sad:14,neutral:6`` as (label, seconds) segments."""
    out = []
    for part in text.split(","):
        label, _, seconds = part.strip().partition(":")
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if label not in EMOTIONS or not 0 < value <= 3600:
            raise SystemExit(f"--plan {text}: expected LABEL:SECONDS,... with labels {', '.join(EMOTIONS)}; "
                             f"got {part.strip()!r}")
        out.append((label, value))
    return out


def agreed_faces(dataset: Path, votes: Path, agreement: float, labels) -> dict[str, list[Path]]:
    """The dataset's faces (any folder) whose FER+ votes give ``label`` at least ``agreement`` of their emotion
    votes, for each label."""
    from emocare.lab.datasets import labelled_images
    from emocare.faces import EMOTIONS
    from emocare.lab.votes import distribution, read_votes

    table = read_votes(votes)
    out: dict[str, list[Path]] = {label: [] for label in labels}
    for path, _ in labelled_images(dataset):
        counts = table.get(path, dataset)
        if counts is None:
            continue
        share = distribution(counts[None])[0]
        for label in labels:
            if share[EMOTIONS.index(label)] >= agreement:
                out[label].append(path)
    return out


if __name__ == "__main__":
    main()
