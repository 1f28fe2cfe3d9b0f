"""Render ``tests/data/synthetic_patterned_fabric.jpg``: a no-face input for the detector's false-face check.

    python tools/make_fabric.py --out tests/data/synthetic_patterned_fabric.jpg

No patterned-fabric photo ships with a package emocare may install, so this draws one: a plaid woven in twill,
printed with polka dots and small rings (dots and rings in pairs are what a face detector sees eyes in), with
soft folds shading it. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def fabric(seed: int = 4, width: int = 640, height: int = 480) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.array([70, 40, 150], np.float32)  # BGR: a red-purple cloth
    stripe = np.array([40, 120, 200], np.float32)  # orange bands
    bands_x = (np.sin(x / 18.0) > 0.55).astype(np.float32)
    bands_y = (np.sin(y / 23.0) > 0.6).astype(np.float32)
    plaid = np.clip(0.6 * bands_x + 0.6 * bands_y, 0, 1)[..., None]
    image = base * (1 - plaid) + stripe * plaid
    twill = 0.9 + 0.1 * np.sin((x + y) * 1.6)[..., None]  # the diagonal weave
    image *= twill
    for _ in range(140):  # the print: dots and rings
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(4, 12))
        colour = tuple(float(v) for v in rng.choice([[235, 235, 235], [30, 30, 30], [60, 200, 240]]))
        if rng.random() < 0.5:
            cv2.circle(image, (cx, cy), r, colour, -1, cv2.LINE_AA)
        else:
            cv2.circle(image, (cx, cy), r, colour, 2, cv2.LINE_AA)
    folds = 0.75 + 0.25 * np.sin(x / 90.0 + 1.5 * np.sin(y / 70.0))  # soft folds
    image = image * folds[..., None]
    image += rng.normal(0, 4, image.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 0.8), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args(argv)
    cv2.imwrite(str(args.out), fabric(args.seed), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(args.out)


if __name__ == "__main__":
    main()
