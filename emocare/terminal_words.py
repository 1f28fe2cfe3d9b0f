"""The terminal's words, per language: the event lines and the status line while ``watch`` runs (``status.py``)
and the session's summary after it (``report.tables``). The same placeholders in every language
(tests/test_status.py); the moods are named as the window and the web page name them (``words.STRINGS``), and a
session's end as the web page says it (``web/strings.toml``'s ``end_*``). A language it does not know is English.
"""

from __future__ import annotations

from typing import Callable

TERMINAL: dict[str, dict[str, str]] = {
    "en": {"seconds": "{t:.1f} s", "person": "person {id}", "change": "{who}: {before} → {after}",
           "care": "{who}: care given ({action}), mood {mood}", "nobody": "nobody in view", "main": " (main)",
           "people": "{n} people: {listed}", "last_care": "last care: {action} at {t:.1f} s",
           "care_short": "care {t:.0f} s", "no_care": "no care yet", "fps": "{fps:.1f} fps",
           "action_message": "message", "action_speech": "speech", "action_music": "music", "action_care": "care",
           # the summary (report.tables)
           "session": "session: ", "changes_one": "{n} mood change", "changes_many": "{n} mood changes",
           "per_min": " ({x:.1f}/min)", "cares_one": "{n} care event", "cares_many": "{n} care events",
           "ended": "ended: {why}", "not_ended": "no end line (still running, or cut off)", "col_person": "person", "primary": " (primary)", "col_mood_s": "{mood} s",
           "col_changes": "changes/min seen", "col_seconds": "seconds in each mood", "no_face": "no face seen",
           "care_title": "care events", "col_t": "t (s)", "col_mood": "mood", "col_action": "action",
           "col_message": "message", "plot_time": "time (s)", "plot_title": "mood timeline - {source} ({engine})",
           # serve's start and end lines (commands/serve.py)
           "serve_other": "from another device: {urls}",
           "serve_other_any": "from another device: this machine's address, port {port}, with the same ?token=",
           "serve_token": "the token in this address is needed for every page and stream (anyone who can reach "
                          "this machine could watch otherwise)",
           "serve_stop": "Ctrl-C stops it", "serve_ended": "the source has ended; the pages stay up until Ctrl-C"},
    "zh": {"seconds": "{t:.1f} 秒", "person": "人物 {id}", "change": "{who}：{before} → {after}",
           "care": "{who}：已安慰（{action}），情绪 {mood}", "nobody": "画面中没有人", "main": "（主要）",
           "people": "{n} 人：{listed}", "last_care": "上次安慰：{action}，{t:.1f} 秒",
           "care_short": "安慰 {t:.0f} 秒", "no_care": "尚未安慰", "fps": "{fps:.1f} 帧/秒",
           "action_message": "消息", "action_speech": "语音", "action_music": "语音和音乐", "action_care": "安慰",
           "session": "会话：", "changes_one": "{n} 次情绪变化", "changes_many": "{n} 次情绪变化",
           "per_min": "（每分钟 {x:.1f} 次）", "cares_one": "{n} 次安慰", "cares_many": "{n} 次安慰",
           "ended": "结束：{why}", "not_ended": "没有结束记录（仍在运行或已中断）", "col_person": "人物", "primary": "（主要）", "col_mood_s": "{mood}/秒",
           "col_changes": "每分钟变化", "col_seconds": "各情绪秒数", "no_face": "没有看到人脸",
           "care_title": "安慰记录", "col_t": "时间（秒）", "col_mood": "情绪", "col_action": "方式",
           "col_message": "安慰语", "plot_time": "时间（秒）", "plot_title": "情绪时间线 - {source}（{engine}）",
           "serve_other": "从其他设备访问：{urls}",
           "serve_other_any": "从其他设备访问：本机地址，端口 {port}，带上同样的 ?token=",
           "serve_token": "每个页面和视频流都需要这个地址中的令牌（否则能连到本机的任何人都能观看）",
           "serve_stop": "按 Ctrl-C 停止", "serve_ended": "来源已结束；页面会一直开着，直到按 Ctrl-C"},
}


def _ends(lang: str) -> dict[str, str]:
    """The web page's words for how a session ended (``end_*``), in ``lang``."""
    from emocare.web.wording import prefixed

    return prefixed(lang, "end_")


def words_for(lang: str) -> tuple[dict[str, str], Callable[[object], str]]:
    """The terminal's words in ``lang`` (English for any other), and how a mood is named there."""
    from emocare.words import STRINGS

    lang = lang if lang in TERMINAL else "en"
    names = STRINGS[lang]
    return TERMINAL[lang], lambda mood: "?" if mood is None else names.get(f"emo_{mood}", str(mood))


def action_words(words: dict[str, str], action: object, missing: str = "?") -> str:
    """How a care action (``speech``) is said in ``words`` (``words_for``'s); ``missing`` where the journal did not
    say which."""
    return missing if action is None else words.get(f"action_{action}", str(action))


def ended_words(lang: str, reason: str) -> str:
    """How a session ended, as the journal says it in English ("end of source"), and in Chinese as the page does."""
    if lang not in TERMINAL or lang == "en":
        return reason
    return _ends(lang).get(reason.replace(" ", "_"), reason)
