"""The window speaks the session's language: one table of its words per language (``words.STRINGS``), the same
keys and placeholders in each, the web page's names for the emotions, and what the drawing code asks to draw in
Chinese; English where no CJK font is installed (readable, with one warning), and English unchanged."""

from __future__ import annotations

import logging
import re
import string
import tomllib
from pathlib import Path

import numpy as np
import pytest

from emocare import sources
from emocare.faces import EMOTIONS, UNCERTAIN, Face, Faces, Mood
from emocare.fonts import Fonts, Text, find_font, needs_cjk
from emocare.render import Hud, Renderer
from emocare.window import KEYS
from emocare.words import STRINGS, Words

WEB_STRINGS = Path(__file__).resolve().parents[1] / "emocare" / "web" / "strings.toml"


def _fields(text: str) -> set[tuple[str, str]]:
    """The placeholders of ``text``: (name, format spec)."""
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_every_key_with_the_same_placeholders():
    assert set(STRINGS) == {"en", "zh"}
    assert set(STRINGS["en"]) == set(STRINGS["zh"])
    for key, en in STRINGS["en"].items():
        zh = STRINGS["zh"][key]
        assert en and zh, key
        assert _fields(en) == _fields(zh), (key, en, zh)


def test_the_chinese_table_is_chinese():
    plain = {"key_quit", "key_mute", "key_snapshot", "key_help", "mood_for"}  # the keyboard's letters; two placeholders
    for key, text in STRINGS["zh"].items():
        if key not in plain:
            assert needs_cjk(text), (key, text)


def test_emotion_names_are_the_web_pages():
    web = tomllib.loads(WEB_STRINGS.read_text(encoding="utf-8"))
    for lang in ("en", "zh"):
        for emotion in (*EMOTIONS, UNCERTAIN):
            assert Words(lang).emotion(emotion) == web[lang][f"emo_{emotion}"], (lang, emotion)
    assert [Words("zh").emotion(e) for e in (*EMOTIONS, UNCERTAIN)] == \
        ["生气", "厌恶", "害怕", "开心", "难过", "惊讶", "平静", "不确定"]


def test_english_keys_are_the_key_table():
    words = Words("en")
    for key in KEYS:
        assert (words.key_label(key), words.key_does(key)) == (key.label, key.does)


def test_numbers_and_units_read_naturally():
    zh, en = Words("zh"), Words("en")
    assert zh("mood_for", mood=zh.emotion("sad"), duration=zh.duration(8.7)) == "难过 8 秒"
    assert en("mood_for", mood="sad", duration=en.duration(8.7)) == "sad for 8 s"
    assert (zh.duration(75), en.duration(75)) == ("1 分 15 秒", "1 min 15 s")
    assert (zh.duration(3725), en.duration(3725)) == ("1 小时 02 分", "1 h 02 min")
    assert zh("strip_caption", span=60.0) == "心情，最近 60 秒"
    assert Words("fr").lang == "en"  # an unknown language is English, not an error


def test_the_sources_status_lines_are_said_in_chinese():
    """A camera that does not come back: each reconnect line and the last one, as the source says them in English and
    as the window's words say them (the source's key and values, not its English read back)."""
    from emocare.errors import SourceError

    opened, now = [], [0.0]

    class _Once:
        def read(self):
            return False, None

        def release(self):
            pass

    class _Back(_Once):
        def read(self):
            return True, np.zeros((4, 4, 3), np.uint8)

    def opener():
        opened.append(1)
        if len(opened) == 1:
            return _Once()
        raise SourceError("camera 0: cannot be opened")

    def clock():
        now[0] += 3.0
        return now[0]

    src = sources.LiveSource(opener, name="camera 0", reconnect_timeout_s=10.0, clock=clock)
    seen = []
    src._stop.wait = lambda delay: seen.append((src.status, src.said)) or False  # no waiting between tries
    assert src._reconnect() is False
    en, zh = Words("en"), Words("zh")
    assert [s for s, _ in seen] == [f"source lost - reconnecting (try {k}, {3 * k}/10 s)" for k in (1, 2, 3)]
    assert [en.status(s, said) for s, said in seen] == [s for s, _ in seen]
    assert zh.status(*seen[2]) == "画面中断，正在重连（第 3 次，9/10 秒）"
    assert src.status == "camera 0: lost and not back after 10 s" == en.status(src.status, src.said)
    assert zh.status(src.status, src.said) == "camera 0：已中断，10 秒内未恢复"
    assert zh.status("something else") == "something else"  # a line the source said no other way: as it is
    # a camera that comes back on the second try: the line and its words are cleared together
    opened.clear()
    back = sources.LiveSource(lambda: opener() if len(opened) < 2 else (opened.append(1), _Back())[1],
                              name="camera 0", reconnect_timeout_s=10.0, clock=clock)
    back._stop.wait = lambda delay: seen.append(back.line) or False
    assert back._reconnect() is True
    assert seen[-1][0].startswith("source lost - reconnecting (try 1,") and back.line == ("", None)
    assert zh.status(back.status, back.said) == ""


class Recording(Fonts):
    """Fonts that keep every piece of text the layers ask to draw."""

    def __init__(self, find=find_font):
        super().__init__(find)
        self.drawn: list[Text] = []

    def draw(self, image, items):
        self.drawn += [t for t in items if t.text]
        super().draw(image, items)


def _faces(n: int = 1) -> Faces:
    scores = np.array([0.05, 0.02, 0.1, 0.03, 0.6, 0.05, 0.15])
    mood = Mood(label="sad", confidence=0.6, valence="negative", negative_for_s=8.0, scores=scores, since=2.0)
    return Faces(faces=tuple(Face(box=(40 + 30 * i, 40, 120, 120), scores=scores, track_id=i + 1, mood=mood)
                             for i in range(n)), t=10.5, size=(640, 360), primary=1)


def _drawn(lang: str, faces: Faces, status: str = "", size=None, find=find_font) -> tuple[Renderer, list[str]]:
    fonts = Recording(find)
    renderer = Renderer(fonts=fonts, lang=lang)
    hud = Hud(24.0, 23.9, "emocare", "test", status, ((0.0, "neutral"), (2.0, "sad")), None, True, stats=True)
    renderer.render(np.full((360, 640, 3), 120, np.uint8), 10.5, faces, hud, size)
    return renderer, [t.text for t in fonts.drawn]


@pytest.mark.skipif(find_font(True) is None, reason="no CJK font installed (fonts-wqy-microhei)")
def test_the_window_asks_for_chinese_only():
    renderer, texts = _drawn("zh", _faces(), status="已暂停")
    assert renderer.words.lang == "zh"
    for expected in ("难过 8 秒", "心情，最近 60 秒", "显示 24.0 帧/秒 · 分析 23.9 帧/秒", "已暂停", "退出", "空格",
                     "平静", *(Words("zh").emotion(e) for e in EMOTIONS)):
        assert expected in texts, (expected, texts)
    english = {w for t in texts for w in re.findall(r"[A-Za-z]{2,}", t)}
    assert english <= {"Esc", "PNG"}, texts  # the keys' own names, and the file type
    assert all(needs_cjk(t) or re.fullmatch(r"[\d%]+|q / Esc|[msh]", t) for t in texts), texts


@pytest.mark.skipif(find_font(True) is None, reason="no CJK font installed (fonts-wqy-microhei)")
def test_chinese_when_nobody_is_in_view_and_when_cards_run_out():
    _, texts = _drawn("zh", Faces(faces=(), t=10.5, size=(640, 360)))
    assert "画面中还没有人" in texts and "画面中没有人脸" in texts
    _, texts = _drawn("zh", _faces(12), size=(640, 420))
    assert any(re.fullmatch(r"还有 \d+ 人", t) for t in texts), texts


def test_english_is_unchanged():
    _, texts = _drawn("en", _faces(), status="paused")
    for expected in ("sad for 8 s", "Mood, last 60 s", "display 24.0 fps · analysis 23.9 fps", "paused", "q / Esc",
                     "show / hide this help", "neutral", "surprise"):
        assert expected in texts, (expected, texts)
    assert not any(needs_cjk(t) for t in texts)


def test_without_a_cjk_font_the_window_is_english_and_says_what_to_install(caplog):
    latin = find_font(False)
    with caplog.at_level(logging.WARNING):
        renderer, texts = _drawn("zh", _faces(), find=lambda cjk: None if cjk else latin)
    assert renderer.words.lang == "en"
    assert "sad for 8 s" in texts and not any(needs_cjk(t) for t in texts)
    assert any("no CJK font" in r.getMessage() and "fonts-wqy-microhei" in r.getMessage() for r in caplog.records)
    _, texts = _drawn("zh", _faces(), find=lambda cjk: None)  # no font file at all: OpenCV's font, still English
    assert "sad for 8 s" in texts


def test_without_a_cjk_font_one_warning_and_only_once_something_is_drawn(caplog):
    """A session with no window builds a renderer and never draws: it was told about a font it never needed. With a
    window, the window's words and the comfort banner say it once between them."""
    latin = find_font(False)
    fonts = Recording(lambda cjk: None if cjk else latin)
    with caplog.at_level(logging.WARNING):
        renderer = Renderer(fonts=fonts, lang="zh")
        assert not [r for r in caplog.records if "CJK" in r.getMessage()]
        hud = Hud(24.0, 23.9, "emocare", "test", "", (), ("我在这里陪着你。", "I'm here with you."), False)
        for t in (10.5, 10.6):
            renderer.render(np.full((360, 640, 3), 120, np.uint8), t, _faces(), hud)
    said = [r.getMessage() for r in caplog.records if "CJK" in r.getMessage()]
    assert len(said) == 1 and "fonts-wqy-microhei" in said[0], said
    assert "I'm here with you." in [t.text for t in fonts.drawn]


class _Carer:
    lang = "zh"
    muted = True

    def banner(self, t):
        return None


def test_the_session_speaks_the_carers_language_unless_told(tmp_path):
    from emocare.journal import Journal
    from emocare.live import Session, WatchOptions

    with Journal(tmp_path / "j.jsonl") as journal:
        session = Session(None, journal, WatchOptions(source_label="x", show_window=False), carer=_Carer())
        if session.renderer.words.lang == "zh":  # with a CJK font
            session.shared.paused = True
            assert session.hud(0.0, Faces()).status == "已暂停 ｜ 已静音"
            session.status = "source lost - reconnecting (try 2, 1/10 s)"
            session.said = ("reconnecting", {"attempt": "2", "elapsed": "1", "limit": "10"})
            assert session.hud(0.0, Faces()).status == "画面中断，正在重连（第 2 次，1/10 秒） ｜ 已静音"
        else:
            assert find_font(True) is None
        english = Session(None, journal, WatchOptions(source_label="x", show_window=False, lang="en"), carer=_Carer())
        assert english.hud(0.0, Faces()).status == "muted"
