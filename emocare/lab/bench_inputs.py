"""What ``emocare bench`` reads: the frames every engine is timed on (a video, the bundled sample, or a folder of
photos) and the labelled images it is scored on, with their FER+ votes when a votes file is given.
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

import numpy as np

from emocare.errors import InputError
from emocare.sources import IMAGE_EXTENSIONS as IMAGE_EXT


def sample_video() -> Path:
    return Path(str(resources.files("emocare").joinpath("data/sample.mp4")))


def load_frames(video: Path | None = None, images: Path | None = None, limit: int | None = None) -> tuple[list[np.ndarray], str]:
    from emocare.sources import iter_video, load_image

    if images is not None:
        files = sorted(p for p in Path(images).rglob("*") if p.suffix.lower() in IMAGE_EXT)
        if not files:
            raise InputError(f"{images}: no images found")
        return [load_image(p) for p in files[:limit]], str(images)
    path = Path(video) if video is not None else sample_video()
    frames = [f.image for f in iter_video(str(path))]
    return frames[:limit] if limit else frames, str(path)


def load_dataset(path: Path, limit: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(image path, label) pairs from ``<label>/`` folders or a CSV of path,label (``datasets.labelled_images``)."""
    from emocare.lab.datasets import labelled_images

    items = [(str(f), label) for f, label in labelled_images(path)]
    if limit and limit < len(items):
        items = random.Random(seed).sample(items, limit)
    return items


def attach_votes(items: list[tuple[str, str]], votes: Path, dataset: Path) -> list[tuple[str, str, list | None]]:
    """Each (image, label) with its FER+ vote counts (``votes.read_votes``), or None where the file has no
    row for it or its rule leaves it out; an ``InputError`` when no image of ``dataset`` has votes."""
    from emocare.lab.datasets import dataset_root
    from emocare.lab.votes import read_votes

    table, root = read_votes(votes), dataset_root(dataset)
    out = []
    for path, label in items:
        c = table.get(path, root)
        out.append((path, label, None if c is None else [float(v) for v in c]))
    if not any(c is not None for _, _, c in out):
        raise InputError(f"{votes}: none of its rows names an image of {dataset} (paths are relative to {root})", str(votes))
    return out
