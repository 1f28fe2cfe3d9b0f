"""Labelled face images: ``<label>/`` folders (FER2013's Kaggle export) or a CSV of ``path,label``.

One reader for ``emocare train`` and ``emocare bench --dataset``. Labels are
the seven of ``EMOTIONS`` (any case); CSV paths are relative to the CSV; a bad
row or a missing image is an ``InputError`` naming ``file:line``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emocare.errors import InputError
from emocare.faces import EMOTIONS
from emocare.sources import IMAGE_EXTENSIONS


def labelled_images(path: Path | str) -> list[tuple[Path, str]]:
    """(image, label) pairs, folders in label order and each sorted."""
    p = Path(path)
    if p.is_dir():
        return _from_folders(p)
    if p.is_file() and p.suffix.lower() == ".csv":
        return _from_csv(p)
    raise InputError(f"{p}: no such folder of <label>/ images or .csv of path,label", str(p))


def _from_folders(p: Path) -> list[tuple[Path, str]]:
    subdirs = {d.name.lower(): d for d in p.iterdir() if d.is_dir()}
    if not any(label in subdirs for label in EMOTIONS):
        raise InputError(f"{p}: no <label>/ folders ({', '.join(EMOTIONS)})", str(p))
    items = [(f, label) for label in EMOTIONS if label in subdirs
             for f in sorted(subdirs[label].rglob("*")) if f.suffix.lower() in IMAGE_EXTENSIONS]
    if not items:
        raise InputError(f"{p}: no labelled images (labels: {' '.join(EMOTIONS)})", str(p))
    return items


def _from_csv(p: Path) -> list[tuple[Path, str]]:
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: cannot read CSV ({exc})", str(p)) from None
    items = []
    for n, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or (n == 1 and row[0].strip().lower() == "path"):
            continue  # blank lines and a header
        if len(row) < 2 or row[1].strip().lower() not in EMOTIONS:
            raise InputError(f"{p}:{n}: expected 'path,label' with a label in {', '.join(EMOTIONS)}", str(p))
        img = Path(row[0].strip())
        img = img if img.is_absolute() else p.parent / img
        if not img.is_file():
            raise InputError(f"{p}:{n}: {img}: no such image", str(p))
        items.append((img, row[1].strip().lower()))
    if not items:
        raise InputError(f"{p}: no labelled images (labels: {' '.join(EMOTIONS)})", str(p))
    return items


def dataset_root(path: Path | str) -> Path:
    """The folder image paths of a dataset are relative to: the folder itself, or a CSV's folder."""
    p = Path(path)
    return p if p.is_dir() else p.parent
