"""Stable person ids across frames: greedy IoU matching with a grace period.

A face that is not matched keeps its id for ``grace_s`` seconds (a missed
detection or a blink of the detector does not create a new person). When IoU
is too low, a centre-distance match (within one box width) is tried, so a
person moving quickly keeps their id. With ``single_person`` on (default),
when the frame holds exactly one face and it matched no track, it continues
a track waiting in its grace period (the primary person's first, else the one
seen last), wherever the face moved: a desk
companion usually has one person in front of it, and a detector that jumps
(or a camera that is bumped) must not reset their mood. A track is confirmed (gets its id on the
faces) only after ``min_hits`` detections, so a one-frame false positive
never becomes a person. The primary person is the largest face; the current primary keeps the role unless another face is clearly
(25%) larger, so the role does not flap between two similar faces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from emocare.faces import Face, Faces
from emocare.settings import DEFAULTS


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def centre_distance(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = (ax + aw / 2) - (bx + bw / 2)
    dy = (ay + ah / 2) - (by + bh / 2)
    return (dx * dx + dy * dy) ** 0.5 / max(1.0, (aw + bw) / 2)


@dataclass
class _Track:
    id: int
    box: tuple[int, int, int, int]
    last_seen: float
    hits: int = 1


class Tracker:
    def __init__(self, iou_threshold: float = 0.25, grace_s: float = DEFAULTS.track_grace_s, max_centre_distance: float = 1.0,
                 single_person: bool = True, min_hits: int = 3):
        self.single_person = single_person
        self.min_hits = min_hits
        self.iou_threshold = iou_threshold
        self.grace_s = grace_s
        self.max_centre_distance = max_centre_distance
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1
        self._primary: int | None = None

    def update(self, faces: Faces) -> Faces:
        t = faces.t
        for tid in [tid for tid, tr in self._tracks.items() if t - tr.last_seen > self.grace_s]:
            del self._tracks[tid]
        pairs = []
        for fi, face in enumerate(faces):
            for tid, tr in self._tracks.items():
                score = iou(face.box, tr.box)
                if score >= self.iou_threshold:
                    pairs.append((score, fi, tid))
                else:
                    d = centre_distance(face.box, tr.box)
                    if d <= self.max_centre_distance:
                        pairs.append((0.001 * (1 - d / (self.max_centre_distance + 1e-9)), fi, tid))
        pairs.sort(reverse=True)
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for _, fi, tid in pairs:
            if fi in assigned or tid in used:
                continue
            assigned[fi] = tid
            used.add(tid)
        if self.single_person:
            free_faces = [fi for fi in range(len(faces)) if fi not in assigned]
            free_tracks = [tid for tid, tr in self._tracks.items() if tid not in used and tr.hits >= self.min_hits]
            if len(faces) == 1 and free_faces and free_tracks:
                # the one face in view continues the primary person if they are waiting, else the latest seen
                tid = self._primary if self._primary in free_tracks else max(free_tracks, key=lambda k: self._tracks[k].last_seen)
                assigned[free_faces[0]] = tid
        out: list[Face] = []
        for fi, face in enumerate(faces):
            tid = assigned.get(fi)
            if tid is None:
                tid = self._next_id
                self._next_id += 1
                self._tracks[tid] = _Track(tid, face.box, t)
            else:
                tr = self._tracks[tid]
                tr.box, tr.last_seen, tr.hits = face.box, t, tr.hits + 1
            confirmed = self._tracks[tid].hits >= self.min_hits
            out.append(replace(face, track_id=tid if confirmed else None))
        return replace(faces, faces=tuple(out), primary=self._choose_primary([f for f in out if f.track_id is not None]))

    def _choose_primary(self, faces: list[Face]) -> int | None:
        if not faces:
            return self._primary if self._primary in self._tracks else None
        largest = max(faces, key=lambda f: f.area)
        current = next((f for f in faces if f.track_id == self._primary), None)
        if current is None or largest.area > 1.25 * current.area:
            self._primary = largest.track_id
        return self._primary

    def reset(self) -> None:
        self._tracks.clear()
        self._primary = None
