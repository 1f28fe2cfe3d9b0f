"""emocare's own path: detect, track in between, classify every face of a frame in one call.

Per frame:
1. grey once (the classifiers all work on grey);
2. faces: BlazeFace (``blazeface.py``: Google's back-camera model through
   LiteRT, new boxes verified by the face-landmark model) or OpenCV's Haar
   cascade (``--detector haar``, on a 320 px copy) every ``detect_every``
   frames of a stream; in between, each box is carried by sparse optical
   flow (Lucas-Kanade on corners inside the box, median shift). A box whose
   points are lost re-triggers detection at once. In a stream, which of
   BlazeFace's boxes are faces is decided over consecutive passes
   (``confirm.py``): at once when the landmark model is sure, or when a box
   the model merely doubts stays put for a few passes (the engine then
   detects on every frame until it is decided); a box one look is not sure
   of is asked of a third network, CenterFace, whose word can carry its
   streak or, with ONet leaning to a face, take it at once. Each pass also looks again,
   closer, at the strongest boxes BlazeFace scores just under its threshold
   (``SECOND_LOOK``): a small or screaming face scores higher on a crop. A
   confirmed face the detector misses once is kept for one pass, unless that
   pass found another face: kept beside the next face, it became a second
   person, which split one person's sad stretch over two tracks and cost the
   comfort. With nobody in view for ``IDLE_AFTER`` passes, a BlazeFace stream
   detects on one frame in ``IDLE_EVERY`` until someone is. Flow stays because it
   measurably helps: on the shared sessions BlazeFace every frame finds a
   face in 95.4-97.7% of frames, every 10th frame with flow 95.8-100%, at a
   third of the cost. Still images (``stream=False``) are always detected,
   photos on the whole image and an overlapping 2x2 grid;
3. one batched classifier call for all faces (no second detection as inside
   ``DeepFace.analyze``, no per-face Keras call). Each BlazeFace face is cut
   the way FER2013 cut its faces (``framing.py``: a square placed on the
   detector's box as measured on FER2013's training faces, with more
   forehead than the box), and a tilted head is levelled by its eyes when
   the eye line is ``LEVEL_MIN_DEG`` or more off horizontal. The square is
   kept relative to the detector's box, so flow carries it with the box.

Boxes are reported in the input's pixels. The classifier decides the
emotion answers: ``EmocareNet`` (emocare's own model), ``DeepFaceCNN``
(DeepFace's model) or ``FerTFLite`` (FER's model). None imports TensorFlow.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from emocare.engines.confirm import ACCEPT, AGREE, Candidate, Confirmer
from emocare.engines.framing import Framing, level
from emocare.faces import Face, normalise


# How a BlazeFace stream decides which boxes are faces (``confirm.Confirmer``; measured in docs/detection.md:
# "Frowning faces" for the streak, "A second network in the face check" for ``agree`` and ``floor``, "A closer
# second look" for ``closer_presence``, "A third network" for ``centre_agree`` and ``centre_floor``)
CONFIRM = dict(accept=ACCEPT, agree=AGREE, accept_score=0.5, floor=0.1, passes=3, still=0.05, streak_score=0.4, keep_missed=1,
               closer_presence=0.001, centre_agree=0.3, centre_floor=0.2)
# the BlazeFace score a stream's candidates need: a box under both thresholds above can never become a face
STREAM_MIN_SCORE = min(CONFIRM["accept_score"], CONFIRM["streak_score"])
# the stream detector's second, closer look (``blazeface.BlazeFaceDetector``, ``second_look``): the ``second_looks``
# strongest boxes BlazeFace scores from ``second_look`` up to STREAM_MIN_SCORE are looked at again on a crop
# ``blazeface.CLOSER`` times their side, where a small, screaming or covered face scores higher (docs/detection.md,
# "A closer second look")
SECOND_LOOK = dict(second_look=0.2, second_looks=2)
# nobody in view: after IDLE_AFTER detection passes in a row that found no face and left no box waiting, a BlazeFace
# stream detects on one frame in IDLE_EVERY until a pass finds one (docs/detection.md, "Nobody in view"); Haar, which
# misses a face in view pass after pass, always looks
IDLE_AFTER, IDLE_EVERY = 30, 3


class HaarDetector:
    """OpenCV's frontal-face cascade on a downscaled grey frame."""

    def __init__(self, detect_side: int = 320, scale_factor: float = 1.15, min_neighbors: int = 5,
                 min_face: int = 24):
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            from emocare.errors import EngineUnavailable

            raise EngineUnavailable(f"OpenCV's Haar cascade is missing: {path} (run 'make install')")
        self.detect_side = detect_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        h, w = gray.shape
        scale = min(1.0, self.detect_side / max(h, w))
        small = gray if scale == 1.0 else cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        found = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(self.min_face, self.min_face))
        back = 1.0 / scale
        return [(round(x * back), round(y * back), round(bw * back), round(bh * back)) for x, y, bw, bh in found]


class FlowTracker:
    """Carries boxes from one grey frame to the next with Lucas-Kanade optical flow.

    Corners are found inside each box when it is (re)detected and then carried
    from frame to frame; only when too few survive are new ones picked. Points
    must pass a forward-backward check (tracked forward and back, within 1 px
    of where they started); a box with too few such points is lost, which
    makes the engine detect again on this very frame.
    """

    def __init__(self, min_points: int = 6):
        self.min_points = min_points
        self._lk = dict(winSize=(15, 15), maxLevel=2, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))
        self._points: list[np.ndarray | None] = []

    def _seed(self, gray: np.ndarray, box) -> np.ndarray | None:
        x, y, w, h = box
        x0, y0 = max(0, x), max(0, y)
        roi = gray[y0:y + h, x0:x + w]
        if roi.size == 0:
            return None
        pts = cv2.goodFeaturesToTrack(roi, maxCorners=30, qualityLevel=0.01, minDistance=4)
        if pts is None or len(pts) < self.min_points:
            return None
        return (pts.reshape(-1, 1, 2) + np.array([x0, y0], np.float32)).astype(np.float32)

    def start(self, gray: np.ndarray, boxes) -> None:
        self._points = [self._seed(gray, b) for b in boxes]

    def propagate(self, prev: np.ndarray, gray: np.ndarray, boxes):
        """New boxes, or None when any box lost its points (re-detect then)."""
        if len(self._points) != len(boxes):
            self.start(prev, boxes)
        out, kept = [], []
        for (x, y, w, h), pts in zip(boxes, self._points):
            if pts is None or len(pts) < self.min_points:
                pts = self._seed(prev, (x, y, w, h))
                if pts is None:
                    return None
            nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, gray, pts, None, **self._lk)
            back, status_b, _ = cv2.calcOpticalFlowPyrLK(gray, prev, nxt, None, **self._lk)
            fb = np.linalg.norm((back - pts).reshape(-1, 2), axis=1)
            ok = (status.reshape(-1) == 1) & (status_b.reshape(-1) == 1) & (fb < 1.0)
            if ok.sum() < self.min_points:
                return None
            dx, dy = np.median((nxt - pts).reshape(-1, 2)[ok], axis=0)
            nx, ny = int(round(x + dx)), int(round(y + dy))
            out.append((nx, ny, w, h))
            kept.append(nxt[ok].reshape(-1, 1, 2) if ok.sum() >= 2 * self.min_points else None)
        self._points = kept
        return out


class LiteEngine:
    """Detector + (optional) flow + one batched classifier call.

    ``detector``: ``blazeface`` (default; each face framed like a FER2013
    crop by ``framing.py``) or ``haar`` (each classifier frames the box as its
    own library does). Streams detect every ``detect_every``
    frames and carry the boxes by optical flow in between.
    """

    def __init__(self, classifier, *, name: str, detector: str = "blazeface", detect_every: int = 10,
                 detect_side: int = 320, min_neighbors: int = 5):
        from emocare.engines.registry import lite_detector

        detector = lite_detector(detector, name)
        self.name = name
        self.classifier = classifier
        self.detector_name = detector
        self._min_neighbors = min_neighbors
        self._photo_detector = None  # built on the first still image: watch never needs it
        if detector == "blazeface":
            from emocare.engines.blazeface import BlazeFaceDetector

            # boxes down to the streak's score are candidates; only the confirmer's rules make them faces
            self.detector = BlazeFaceDetector("back", min_score=STREAM_MIN_SCORE, centre=CONFIRM["accept_score"],
                                              spare=True, agree=CONFIRM["agree"],
                                              closer_presence=CONFIRM["closer_presence"], **SECOND_LOOK)
        else:
            # video: a small copy is enough for a face at a desk
            self.detector = HaarDetector(detect_side=detect_side, min_neighbors=min_neighbors)
        self.flow = FlowTracker()
        self.detect_every = max(1, detect_every)
        self._prev: np.ndarray | None = None
        self._boxes: list[tuple[int, int, int, int]] = []
        # each box's crop at its last detection, relative to the box (dx, dy, side, tilt); flow keeps the order
        self._crops: list[tuple[int, int, int, float] | None] = []
        self._tracks: list[int] = []  # each box's face, as the confirmer names it (BlazeFace streams)
        self._pending = False  # a box waits for confirmation: detect again on the next frame
        self.confirmer = Confirmer(**CONFIRM) if detector == "blazeface" else None
        self.framing = Framing.read() if detector == "blazeface" else None
        self._since_detect = 0
        self._empty_passes = 0  # detection passes in a row with no face and no box waiting
        self._rested = 0  # frames in a row not looked at while nobody is in view
        self.detections = 0  # how many frames ran the detector (for the bench)
        self.last_detect_ms = 0.0
        self.last_classify_ms = 0.0

    @property
    def negative_threshold(self) -> float | None:
        """The care threshold the classifier's model declares, if any (``Pipeline`` uses it for "auto")."""
        return getattr(self.classifier, "negative_threshold", None)

    @property
    def photo_detector(self):
        """Photos: BlazeFace on the whole image and an overlapping 2x2 grid (small faces in groups, large
        images); Haar on a larger copy with finer steps."""
        if self._photo_detector is None:
            if self.detector_name == "blazeface":
                from emocare.engines.blazeface import BlazeFaceDetector

                self._photo_detector = BlazeFaceDetector("back", tiles=2)
            else:
                self._photo_detector = HaarDetector(detect_side=1024, scale_factor=1.1,
                                                    min_neighbors=self._min_neighbors, min_face=24)
        return self._photo_detector

    def _detect(self, image: np.ndarray, gray: np.ndarray, stream: bool) -> tuple[list, list]:
        """The faces' boxes and, for BlazeFace's, each face's crop relative to its box (None from Haar, which frames
        its faces the way each classifier's library does)."""
        det = self.detector if stream else self.photo_detector
        if isinstance(det, HaarDetector):
            boxes = det.detect(gray)
            return boxes, [None] * len(boxes)
        if not stream:
            found = det.detect(image)
            return [d.box for d in found], [self._crop(d) for d in found]
        # faces confirmed before are not re-verified (a track carries a face the verifier doubts)
        found = det.scored(image, known=self._boxes)
        verdict = self.confirmer.update([Candidate(d.box, d.score, d.presence, d.onet, d.closer, d.centre) for d in found],
                                        moved=dict(zip(self._tracks, self._boxes)))
        boxes, crops, tracks = [], [], []
        for k, track in zip(verdict.faces, verdict.tracks):
            boxes.append(found[k].box)
            crops.append(self._crop(found[k]))
            tracks.append(track)
        # a face missed by this pass stays where the flow had it, with its crop, unless the pass found another face:
        # kept beside a new face it became a second person, which split one person's sad stretch over two tracks
        for kept in verdict.kept if not verdict.faces else ():
            if kept.track in self._tracks:
                i = self._tracks.index(kept.track)
                boxes.append(self._boxes[i])
                crops.append(self._crops[i])
                tracks.append(kept.track)
        self._tracks, self._pending = tracks, verdict.pending
        return boxes, crops

    def _resting(self) -> bool:
        """Whether this frame of a stream goes unlooked at: nobody has been in view for ``IDLE_AFTER`` passes, and
        the last ``IDLE_EVERY - 1`` frames were not all skipped already (a person who sits down is found within
        ``IDLE_EVERY`` frames; the detector, which with nobody in view runs on every frame, costs a third)."""
        if self._empty_passes < IDLE_AFTER or self._rested >= IDLE_EVERY - 1:
            self._rested = 0
            return False
        self._rested += 1
        return True

    def _crop(self, d) -> tuple[int, int, int, float]:
        """A BlazeFace face's crop relative to its box (``framing.py``)."""
        (x, y, side, _), roll = self.framing.square(d.box, d.keypoints)
        return (x - d.box[0], y - d.box[1], side, roll)

    def faces_batch(self, gray: np.ndarray, boxes, crops) -> np.ndarray:
        """The classifier's input for each detector box: BlazeFace's cut by ``crops`` (relative to the box, so a box
        that flow moved takes its crop along) and levelled; Haar's framed by the classifier itself."""
        out = []
        for b, crop in zip(boxes, crops):
            if crop is None:
                out.append(self.classifier.preprocess(gray, b))
                continue
            dx, dy, side, roll = crop
            face = level(gray, (b[0] + dx, b[1] + dy, side, side), roll)
            out.append(self.classifier.preprocess(face, (0, 0, face.shape[1], face.shape[0]), crop_only=True))
        return np.stack(out)

    def analyze(self, image: np.ndarray, *, stream: bool = False) -> list[Face]:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        t0 = time.perf_counter()
        boxes = None
        if stream and self._prev is not None and self._prev.shape == gray.shape and self._boxes \
                and self._since_detect < self.detect_every - 1 and not self._pending:
            boxes = self.flow.propagate(self._prev, gray, self._boxes)
            if boxes is not None:
                self._since_detect += 1
        if boxes is None and stream and self.confirmer is not None and self._resting():
            boxes, self._crops = [], []
        elif boxes is None:
            boxes, self._crops = self._detect(image, gray, stream)
            self._since_detect = 0
            self.detections += 1
            if stream:
                self.flow.start(gray, boxes)
                self._empty_passes = 0 if boxes or self._pending else self._empty_passes + 1
        t1 = time.perf_counter()
        self._prev, self._boxes = (gray, boxes) if stream else (None, [])
        if not stream:
            self._tracks, self._pending = [], False
        if not boxes:
            self.last_detect_ms, self.last_classify_ms = (t1 - t0) * 1000, 0.0
            return []
        probs = self.classifier.predict(self.faces_batch(gray, boxes, self._crops))  # flow keeps each box's place
        self.last_detect_ms, self.last_classify_ms = (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000
        return [Face(box=tuple(int(v) for v in b), scores=normalise(p)) for b, p in zip(boxes, probs)]

    def classify(self, image: np.ndarray, boxes) -> list[Face]:
        """Scores for given boxes, no detection (``bench --crops``; the whole crop is the face)."""
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        batch = np.stack([self.classifier.preprocess(gray, tuple(b), crop_only=True) for b in boxes])
        return [Face(box=tuple(int(v) for v in b), scores=normalise(p)) for b, p in zip(boxes, self.classifier.predict(batch))]

    def reset(self) -> None:
        self._prev, self._boxes, self._crops, self._since_detect = None, [], [], 0
        self._empty_passes = self._rested = 0
        self._tracks, self._pending = [], False
        if self.confirmer is not None:
            self.confirmer.reset()

    def close(self) -> None:
        pass
