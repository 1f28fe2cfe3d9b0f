"""``emocare bench --faces-videos/--no-face``: each LiteRT-path face detector as ``watch --fast`` runs it, on videos
where every frame holds a face (found-rate, per true emotion when a truth file is beside the video) and on media
that hold none (false faces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from emocare.engines.registry import LITE_DETECTORS as DETECTORS  # one list, in the registry
from emocare.errors import InputError
from emocare.faces import EMOTIONS
from emocare.lab.bench_sessions import media_files, read_truth, truth_path
from emocare.sources import IMAGE_EXTENSIONS as IMAGE_EXT
from emocare.sources import VIDEO_EXTENSIONS as VIDEO_EXT
from emocare.timing import percentile


@dataclass
class DetectorReport:
    """``bench --faces-videos/--no-face``: per file and detector, then a summary per detector."""

    # video, as the path was given -> detector -> frames, found_rate, and by_emotion when a truth.csv is beside it
    face_videos: dict[str, dict[str, dict]] = field(default_factory=dict)
    no_face: dict[str, dict[str, dict]] = field(default_factory=dict)  # file -> detector -> frames, false faces
    summary: dict[str, dict] = field(default_factory=dict)  # detector -> found rates, false faces, ms

    def to_json(self) -> dict:
        return {"face_videos": self.face_videos, "no_face": self.no_face, "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict) -> "DetectorReport":
        return cls(data["face_videos"], data["no_face"], data["summary"])


def run_detectors(face_videos: Sequence[Path] = (), no_face: Sequence[Path] = (),
                  detectors: Sequence[str] = DETECTORS,
                  on_step: Callable[[str], None] = lambda name: None) -> DetectorReport:
    """Each detector as ``watch --fast`` runs it (flow between detections included) on:

    - videos where every frame holds a face: found-rate = frames with a face / frames; when ``NAME.truth.csv``
      (frame,t,label) is beside a video, also per true emotion (``by_emotion``: frames, found), and the summary
      pools every video's frames per emotion and names the worst one. Where the truth file also gives the face's
      place (``x,y,side``, as ``tools/make_sessions.py`` writes it), a frame counts only when a box's centre lies
      within half the face's side of the face's centre: a box left where a face was, or a box elsewhere, is not
      the face (``off_face``: frames with boxes but none at the face);
    - no-face media (videos, and images analysed as photos): false faces.
    Rows are keyed by the path as given (two ``a.mp4`` in two folders are two rows). ms per frame is the
    detection stage alone (detector + flow), not the classifier.
    """
    from emocare.engines.emocare_model import EmocareNet
    from emocare.engines.lite import LiteEngine

    videos = media_files(face_videos, VIDEO_EXT)
    if face_videos and not videos:
        raise InputError(f"{', '.join(map(str, face_videos))}: no videos found")
    quiet_media = media_files(no_face, VIDEO_EXT + IMAGE_EXT)
    classifier = EmocareNet()
    result = DetectorReport()
    for det in detectors:
        engine = LiteEngine(classifier, name=f"emocare/{det}", detector=det)
        ms: list[float] = []
        found_rates, pooled = _found_on_face_videos(engine, det, videos, ms, result, on_step)
        false_total = _false_on_quiet_media(engine, det, quiet_media, ms, result, on_step)
        result.summary[det] = _detector_summary(found_rates, pooled, false_total, ms)
        placed = [per[det]["off_face"] for per in result.face_videos.values() if "off_face" in per.get(det, {})]
        if placed:  # videos whose truth gave the face's place: frames that had boxes, none at the face
            result.summary[det]["off_face"] = int(sum(placed))
            result.summary[det]["videos_placed"] = len(placed)
    return result


def _found_on_face_videos(engine, det: str, videos: Sequence[Path], ms: list[float], result: DetectorReport,
                          on_step: Callable[[str], None]) -> tuple[list[float], dict[str, list[int]]]:
    """``det``'s row for each face video (into ``result.face_videos``); (the found-rate of each video, emotion ->
    [frames, found] pooled over every video with a truth file)."""
    found_rates = []
    pooled: dict[str, list[int]] = {}  # emotion -> [frames, found] over every video with a truth file
    for v in videos:
        on_step(f"{det}: {v}")
        found: list[bool] = []
        places = read_places(truth_path(v))
        n, with_face, _, off_face = _scan_video(engine, v, ms, found, places)
        found_rates.append(with_face / n if n else 0.0)
        entry = {"frames": n, "found_rate": found_rates[-1]}
        if places is not None:
            entry["off_face"] = off_face
        by_emotion = _found_by_emotion(v, found)
        if by_emotion is not None:
            entry["by_emotion"] = by_emotion
            for label, tally in by_emotion.items():
                total = pooled.setdefault(label, [0, 0])
                total[0] += tally["frames"]
                total[1] += tally["found"]
        result.face_videos.setdefault(str(v), {})[det] = entry
    return found_rates, pooled


def _false_on_quiet_media(engine, det: str, quiet_media: Sequence[Path], ms: list[float], result: DetectorReport,
                          on_step: Callable[[str], None]) -> int:
    """``det``'s row for each no-face file (into ``result.no_face``); the false faces found on them all."""
    false_total = 0
    for m in quiet_media:
        on_step(f"{det}: {m.name}")
        entry = _false_faces(engine, m, ms)
        false_total += entry["false_faces"]
        result.no_face.setdefault(str(m), {})[det] = entry
    return false_total


def _detector_summary(found_rates: list[float], pooled: dict[str, list[int]], false_total: int,
                      ms: list[float]) -> dict:
    """One detector's summary row: found rates (the lowest, the mean, per true emotion and the worst emotion),
    false faces, and its detection ms per frame."""
    by_emotion = {e: pooled[e][1] / pooled[e][0] for e in EMOTIONS if pooled.get(e, [0])[0]}
    worst = min(by_emotion, key=by_emotion.get) if by_emotion else None
    return {
        "min_found_rate": min(found_rates) if found_rates else None,
        "mean_found_rate": float(np.mean(found_rates)) if found_rates else None,
        "found_rate_by_emotion": by_emotion,
        "worst_emotion": worst,
        "worst_emotion_found_rate": by_emotion[worst] if worst else None,
        "false_faces": false_total,
        "ms_per_frame": float(np.mean(ms)) if ms else None,
        "p95_ms": percentile(ms, 95) if ms else None,
    }


def _scan_video(engine, video: Path, ms: list[float], found: list[bool] | None = None,
                places: Sequence[tuple[float, float, float]] | None = None) -> tuple[int, int, int, int]:
    """(frames, frames with a face, boxes, frames with boxes off the face) of ``video`` as a stream; each frame's
    detection ms appended to ``ms`` and, when ``found`` is given, whether it had a face. With ``places`` (each frame's face centre and half side),
    a frame has a face only when a box is centred on it (past the places, any box counts, as without them), and
    the last figure counts the frames with boxes but none at the face (0 without ``places``)."""
    from emocare.sources import iter_video

    engine.reset()
    n = with_face = boxes = off_face = 0
    for frame in iter_video(str(video)):
        faces = engine.analyze(frame.image, stream=True)
        ms.append(engine.last_detect_ms)
        hit = bool(faces)
        if places is not None and n < len(places):  # past the truth's rows: any box, as without places
            hit = any(_at(f.box, places[n]) for f in faces)
            off_face += bool(faces) and not hit
        n += 1
        with_face += hit
        boxes += len(faces)
        if found is not None:
            found.append(hit)
    return n, with_face, boxes, off_face


def _at(box, place: tuple[float, float, float]) -> bool:
    """Whether ``box`` (x, y, w, h) is centred within ``place``'s half side of its centre (cx, cy, half)."""
    cx, cy, half = place
    return float(np.hypot(box[0] + box[2] / 2 - cx, box[1] + box[3] / 2 - cy)) <= half


def read_places(path: Path) -> list[tuple[float, float, float]] | None:
    """Each frame's face as (centre x, centre y, half side) from a truth file's ``x,y,side`` columns (the face's
    square, which a turn moves about its centre); None without a file or those columns."""
    import csv

    if not Path(path).is_file():
        return None
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not {"x", "y", "side"} <= set(reader.fieldnames or ()):
                return None
            for line, r in enumerate(reader, 2):
                try:
                    x, y, side = (float(r[k]) for k in ("x", "y", "side"))
                except (ValueError, TypeError):
                    raise InputError(f"{path}:{line}: a face's place (x,y,side) is missing or not a number",
                                     str(path)) from None
                if not np.isfinite((x, y, side)).all() or side <= 0:
                    raise InputError(f"{path}:{line}: a face's place (x,y,side) must be finite with side > 0",
                                     str(path))
                rows.append((x + side / 2, y + side / 2, side / 2))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a truth file ({exc})", str(path)) from None
    return rows


def _found_by_emotion(video: Path, found: Sequence[bool]) -> dict[str, dict[str, int]] | None:
    """Frames and frames with a face per true emotion, from ``NAME.truth.csv`` beside ``video`` (None without one;
    frames past the shorter of the two are not counted)."""

    if not truth_path(video).is_file():
        return None
    out: dict[str, dict[str, int]] = {}
    for (_, label), hit in zip(read_truth(truth_path(video)), found):
        tally = out.setdefault(label, {"frames": 0, "found": 0})
        tally["frames"] += 1
        tally["found"] += int(hit)
    return {e: out[e] for e in EMOTIONS if e in out}


def _false_faces(engine, media: Path, ms: list[float]) -> dict:
    """Faces found on a file that holds none: a video as a stream, an image as a photo."""
    from emocare.sources import load_image

    if media.suffix.lower() in VIDEO_EXT:
        n, with_face, boxes, _ = _scan_video(engine, media, ms)
        return {"frames": n, "frames_with_faces": with_face, "false_faces": boxes}
    engine.reset()
    faces = engine.analyze(load_image(media), stream=False)
    return {"frames": 1, "frames_with_faces": int(bool(faces)), "false_faces": len(faces)}
