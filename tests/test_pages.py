"""The web pages' shared helpers that need no server: how a length of time reads in each language."""

from __future__ import annotations

import pytest

from emocare.web.pages import span, strings


@pytest.mark.parametrize("seconds,en,zh", [
    (0, "0 s", "0 秒"),
    (12.4, "12 s", "12 秒"),
    (59.4, "59 s", "59 秒"),
    (60, "1 min", "1 分钟"),
    (150.9, "2 min 31 s", "2 分钟 31 秒"),
    (599.4, "9 min 59 s", "9 分钟 59 秒"),
    (754, "13 min", "13 分钟"),
    (3600, "1 h", "1 小时"),
    (3900, "1 h 5 min", "1 小时 5 分钟"),
    (-3, "0 s", "0 秒"),
])
def test_a_short_session_reads_in_seconds_and_a_long_one_in_hours(seconds, en, zh):
    assert span(seconds, strings()["en"]) == en
    assert span(seconds, strings()["zh"]) == zh


def test_both_languages_have_every_string():
    en, zh = strings()["en"], strings()["zh"]
    assert set(en) == set(zh), sorted(set(en) ^ set(zh))


def test_a_day_is_headed_with_its_weekday_in_both_languages():
    from datetime import date

    from emocare.web.pages import day_title

    assert day_title(date(2026, 12, 3), "en") == "Thursday 03 December 2026"
    assert day_title(date(2026, 12, 3), "zh") == "2026年12月3日 星期四"
    assert day_title(date(2026, 11, 29), "zh") == "2026年11月29日 星期日"
