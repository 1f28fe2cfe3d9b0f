"""Render: a ``watch`` frame drawn as the window's canvas with the overlay's layers (``Renderer``), from what the
session knows besides the faces (``Hud``); the comfort banner withdrawn once nobody is negative (``BannerFade``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from emocare.bands import HeaderInfo, HeaderLayer, HelpLayer, MoodStripLayer
from emocare.banner import BannerLayer
from emocare.cards import FaceLayer, PanelLayer, face_numbers, mood_of
from emocare.faces import Faces
from emocare.fonts import CJK_FONT_PACKAGE, Fonts, needs_cjk
from emocare.layout import Layout, fit_frame, plan, unit, window_size
from emocare.paint import overlaps
from emocare.words import STRINGS, Words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hud:
    """Everything drawn besides the faces."""

    display_fps: float
    analysis_fps: float
    engine: str
    source: str
    status: str
    history: tuple[tuple[float, str], ...]
    banner: tuple[str, str] | None
    show_help: bool
    stats: bool = False  # the rates in the header (watch --stats)


def negative_in_view(faces: Faces) -> bool:
    """Whether anyone in view is, steadily, in a negative mood (what the comfort banner is for)."""
    return any(f.mood is not None and f.mood.valence == "negative" for f in faces)


class BannerFade:
    """The comfort banner is withdrawn once nobody in view is negative any more.

    ``opacity(t, text, negative)`` is 1 while someone is negative, then
    falls to 0 over ``fade_s`` seconds of media time once nobody is, and
    that message stays withdrawn (a new message starts afresh). Someone
    turning negative again before it has faded brings it back.
    """

    def __init__(self, fade_s: float = 1.0):
        self.fade_s = fade_s
        self._text: str | None = None
        self._calm_since: float | None = None
        self._gone = False

    def opacity(self, t: float, text: str | None, negative: bool) -> float:
        if text != self._text:
            self._text, self._calm_since, self._gone = text, None, False
        if text is None or self._gone:
            return 0.0
        if negative:
            self._calm_since = None
            return 1.0
        if self._calm_since is None:
            self._calm_since = t
        left = 1.0 - (t - self._calm_since) / self.fade_s
        if left <= 0:
            self._gone = True
            return 0.0
        return min(1.0, left)


def window_words(lang: str, fonts: Fonts) -> tuple[Words, bool]:
    """The window's words in ``lang``, and whether they fell back to English: where ``lang``'s text needs a CJK font
    and none is installed, readable English rather than empty boxes (the renderer says so once, when it first
    draws: a session without a window draws nothing and is told nothing)."""
    words = Words(lang)
    if any(needs_cjk(text) for text in STRINGS[words.lang].values()) and fonts.path(True) is None:
        return Words("en"), True
    return words, False


class Renderer:
    """The layers' styles; ``render`` draws a canvas and records where each layer went (``layout``).

    The canvas is ``size`` (the window's, or ``overlay.window_size`` of the
    frame): header, the frame fitted into the stage, the panel of cards,
    the footer with the mood strip. Over the stage go the face boxes, the
    banner (at the bottom, or the top when the bottom would cover the
    person) and the help box, which never covers the banner. All their words are in ``lang``
    (``words.STRINGS``; English where it needs a CJK font and none is installed: ``words``).
    """

    def __init__(self, fonts: Fonts | None = None, fade: BannerFade | None = None, lang: str = "en"):
        self.fonts = fonts or Fonts()
        self.words, self._fell_back = window_words(lang, self.fonts)
        self.faces = FaceLayer(self.fonts)
        self.video_faces = FaceLayer(self.fonts)  # for ``video``: its own record of where things went
        self.panel = PanelLayer(self.fonts, words=self.words)
        self.header = HeaderLayer(self.fonts, self.words)
        self.strip = MoodStripLayer(60.0, self.fonts, self.words)
        self.banner = BannerLayer(fonts=self.fonts)
        self.help = HelpLayer(self.fonts, self.words)
        self.fade = fade or BannerFade()
        self.layout: list[tuple[str, tuple[int, int, int, int]]] = []

    def render(self, image: np.ndarray, t: float, faces: Faces, hud: Hud,
               size: tuple[int, int] | None = None) -> np.ndarray:
        if self._fell_back:  # one line for the window and its comfort banner alike, at the first picture drawn
            log.warning("no CJK font found: the window's text and its comfort are in English; install %s",
                        CJK_FONT_PACKAGE)
            self._fell_back, self.banner.hinted = False, True
        h, w = image.shape[:2]
        W, H = size or window_size((w, h))
        lay = plan((W, H), (w, h))
        canvas = np.empty((H, W, 3), np.uint8)
        fit_frame(canvas, image, lay)
        self.layout = [("header", lay.header), ("stage", lay.stage), ("frame", lay.frame), ("panel", lay.panel),
                       ("footer", lay.footer)]
        over: list[tuple[str, tuple[int, int, int, int]]] = []
        opacity = self.fade.opacity(t, hud.banner[0] if hud.banner else None, negative_in_view(faces))
        if hud.banner and opacity > 0:
            text = self.banner.text_for(*hud.banner)
            boxes = [lay.to_canvas(f.box) for f in faces]
            spots = [self.banner.rect(text, lay.frame, lay.u, at) for at in ("bottom", "top")]
            spot = min(spots, key=lambda r: sum(_area(r, b) for b in boxes))  # the bottom unless it hides more of a face
            over.append(("banner", spot))
        if hud.show_help:
            hw, hh = self.help.size(lay.u)
            pad = max(8, round(12 * lay.u))
            sx0, sy0, sx1, sy1 = lay.frame
            candidates = [(sx0 + pad, sy0 + pad, sx0 + pad + hw, sy0 + pad + hh),
                          (sx0 + pad, sy1 - pad - hh, sx0 + pad + hw, sy1 - pad),
                          (lay.panel[0] + pad, lay.panel[1] + pad, lay.panel[0] + pad + hw, lay.panel[1] + pad + hh)]
            taken = [r for _, r in over]
            spot = next((r for r in candidates if not any(overlaps(r, o) for o in taken)), candidates[-1])
            over.append(("help", spot))
        texts = self.faces.draw(canvas, faces, lay, avoid=[r for _, r in over])
        texts += self.panel.draw(canvas, list(faces), lay.panel, lay.u)
        texts += self.header.draw(canvas, lay.header, self._header_info(faces, t, hud), lay.u)
        texts += self.strip.draw(canvas, lay.footer, list(hud.history), t, lay.u)
        self.fonts.draw(canvas, texts)  # the banner and the help go over all of it
        for name, rect in over:
            if name == "banner":
                self.banner.draw(canvas, hud.banner[0], fallback=hud.banner[1], rect=rect, opacity=opacity, u=lay.u)
            else:
                self.fonts.draw(canvas, self.help.draw(canvas, rect, lay.u))
        self.layout += [*self.faces.drawn, *self.panel.drawn, *over]
        self.opacity = opacity
        return canvas

    def video(self, image: np.ndarray, faces: Faces, width: int | None = None) -> np.ndarray:
        """The frame alone (at most ``width`` wide, never enlarged) with each face's box and number chip: what a
        ``Display`` shows, a few milliseconds where a canvas takes tens."""
        import cv2

        h, w = image.shape[:2]
        if width and w > width:
            frame = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
        else:
            frame = image.copy()
        H, W = frame.shape[:2]
        lay = Layout(size=(W, H), u=unit(W, H), header=(0, 0, W, 0), stage=(0, 0, W, H), frame=(0, 0, W, H),
                     panel=(W, 0, W, H), footer=(0, H, W, H), scale=W / w)
        self.fonts.draw(frame, self.video_faces.draw(frame, faces, lay))
        return frame

    def _header_info(self, faces: Faces, t: float, hud: Hud) -> HeaderInfo:
        primary = faces.primary_face()
        if primary is None and len(faces) == 1:
            primary = faces.faces[0]
        stats = self.words("stats", display=hud.display_fps, analysis=hud.analysis_fps) if hud.stats else ""
        if primary is None:
            return HeaderInfo(status=hud.status, stats=stats)
        number = face_numbers(list(faces))[list(faces).index(primary)]
        mood, _, _ = mood_of(primary)
        since = primary.mood.since if primary.mood is not None else None
        return HeaderInfo(person=number, mood=mood, for_s=None if since is None else max(0.0, t - since),
                          status=hud.status, stats=stats)


def _area(a, b) -> int:
    """The area ``a`` and ``b`` share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
