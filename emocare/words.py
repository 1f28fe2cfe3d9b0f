"""The window's words, one table per language: every piece of text the window draws (header, status, mood strip,
cards, key help) comes from ``STRINGS`` through ``Words``. A key's placeholders are the same in every language
(tests/test_window_lang.py); the emotion names are the web page's (emocare/web/strings.toml, emo_*), so the window
and the page call a mood the same; the English names of the keys and what they do are the key table's
(``window.KEYS``).
"""

from __future__ import annotations

from emocare.window import KEYS, Key

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "emo_angry": "angry", "emo_disgust": "disgust", "emo_fear": "fear", "emo_happy": "happy", "emo_sad": "sad",
        "emo_surprise": "surprise", "emo_neutral": "neutral", "emo_uncertain": "uncertain",
        "no_one_yet": "No one in view yet",
        "not_sure_yet": "not sure yet",
        "mood_for": "{mood} for {duration}",
        "seconds": "{s} s",
        "minutes": "{m} min {s:02d} s",
        "hours": "{h} h {m:02d} min",
        "paused": "paused",
        "muted": "muted",
        "status_join": " | ",
        "reconnecting": "source lost - reconnecting (try {attempt}, {elapsed}/{limit} s)",
        "lost": "{name}: lost and not back after {limit} s",
        "stats": "display {display:.1f} fps · analysis {analysis:.1f} fps",
        "strip_caption": "Mood, last {span:.0f} s",
        "strip_none": "none yet",
        "no_face": "No face in view",
        "more_faces": "+{n} more",
        # the keys' names and what they do: the key table's own (window.KEYS), so the two cannot drift
        **{f"key_{k.command}": k.label for k in KEYS}, **{f"does_{k.command}": k.does for k in KEYS},
    },
    "zh": {
        "emo_angry": "生气", "emo_disgust": "厌恶", "emo_fear": "害怕", "emo_happy": "开心", "emo_sad": "难过",
        "emo_surprise": "惊讶", "emo_neutral": "平静", "emo_uncertain": "不确定",
        "no_one_yet": "画面中还没有人",
        "not_sure_yet": "还不确定",
        "mood_for": "{mood} {duration}",
        "seconds": "{s} 秒",
        "minutes": "{m} 分 {s:02d} 秒",
        "hours": "{h} 小时 {m:02d} 分",
        "paused": "已暂停",
        "muted": "已静音",
        "status_join": " ｜ ",
        "reconnecting": "画面中断，正在重连（第 {attempt} 次，{elapsed}/{limit} 秒）",
        "lost": "{name}：已中断，{limit} 秒内未恢复",
        "stats": "显示 {display:.1f} 帧/秒 · 分析 {analysis:.1f} 帧/秒",
        "strip_caption": "心情，最近 {span:.0f} 秒",
        "strip_none": "暂无",
        "no_face": "画面中没有人脸",
        "more_faces": "还有 {n} 人",
        "key_quit": "q / Esc", "does_quit": "退出",
        "key_pause": "空格", "does_pause": "暂停 / 继续",
        "key_mute": "m", "does_mute": "静音 / 取消静音",
        "key_snapshot": "s", "does_snapshot": "截图（PNG）",
        "key_help": "h", "does_help": "显示 / 隐藏本帮助",
    },
}

class Words:
    """The window's text in one language (``STRINGS``): ``words("paused")``, ``words("mood_for", mood=..., ...)``."""

    def __init__(self, lang: str = "en"):
        self.lang = lang if lang in STRINGS else "en"
        self.table = STRINGS[self.lang]

    def __call__(self, key: str, **values) -> str:
        text = self.table.get(key, STRINGS["en"][key])
        return text.format(**values) if values else text

    def emotion(self, name: str) -> str:
        """An emotion's (or "uncertain"'s) name; a name not in the table as it is."""
        return self.table.get(f"emo_{name}", name)

    def duration(self, seconds: float) -> str:
        s = int(seconds)
        if s < 60:
            return self("seconds", s=s)
        if s < 3600:
            return self("minutes", m=s // 60, s=s % 60)
        return self("hours", h=s // 3600, m=s % 3600 // 60)

    def key_label(self, key: Key) -> str:
        return self(f"key_{key.command}")

    def key_does(self, key: Key) -> str:
        return self(f"does_{key.command}")

    def status(self, text: str, said: tuple[str, dict[str, str]] | None = None) -> str:
        """A source's status line in this language: as the source ``said`` it (``sources.LiveSource.said``: this
        table's key and values) when it did, else ``text`` as it is."""
        if not text or said is None:
            return text
        key, values = said
        return self(key, **values)
