"""``emocare analyze``: still images through the shared engine and overlay."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import cv2

from emocare.engines import Engine, analyze_frame
from emocare.errors import InputError
from emocare.faces import Faces
from emocare.overlay import annotate
from emocare.sources import load_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageResult:
    source: str
    faces: Faces | None = None
    error: str | None = None
    annotated: Path | None = None

    def to_json(self) -> dict:
        if self.error is not None:
            return {"source": self.source, "error": self.error}
        assert self.faces is not None
        return {
            "source": self.source,
            "engine": self.faces.engine,
            "faces": [f.to_json() for f in self.faces],
            "ms": round(self.faces.ms, 3),
        }


def annotated_path(out_dir: Path, source: Path, index: int) -> Path:
    """Where the annotated copy of ``source`` goes (PNG, unique per input)."""
    return out_dir / f"{index:04d}_{source.stem}.png"


def analyze_one(engine: Engine, path: Path, *, max_side: int, annotate_dir: Path | None = None,
                index: int = 0) -> ImageResult:
    try:
        image = load_image(path)
    except InputError as exc:
        return ImageResult(source=str(path), error=str(exc))
    faces = analyze_frame(engine, image, max_side=max_side, frame_index=index)
    written = None
    if annotate_dir is not None:
        written = annotated_path(annotate_dir, path, index)
        try:
            ok = cv2.imwrite(str(written), annotate(image, faces))
        except cv2.error:
            ok = False
        if not ok:
            return ImageResult(source=str(path), faces=faces, error=f"{written}: cannot write annotated image")
    return ImageResult(source=str(path), faces=faces, annotated=written)


def analyze_all(engine: Engine, paths: Iterable[Path], *, max_side: int, annotate_dir: Path | None = None,
                on_result: Callable[[ImageResult], None] = lambda r: None) -> list[ImageResult]:
    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, path in enumerate(paths):
        result = analyze_one(engine, path, max_side=max_side, annotate_dir=annotate_dir, index=i)
        results.append(result)
        on_result(result)
    return results
