"""emocare serve in a real headless Chromium (Debian's, through selenium): the live page, the history, the
settings form; screenshots in out/serve/."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace

import pytest

from emocare.faces import Faces
from emocare.records import CareRecord, EndRecord
from make_journals import make as make_journals  # tools/, on sys.path by conftest
from test_serve import OUT, _packaged, _packaged_en, _serve_thread, mood_faces

pytestmark = pytest.mark.usefixtures("loopback_lookups")  # conftest: the server and chromedriver on loopback


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if exe is None or driver is None:
        pytest.skip("Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver; "
                    "make system-deps does)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is needed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,900",
                "--force-device-scale-factor=1", "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.page_load_strategy = "eager"  # the MJPEG image never finishes loading
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_browser_sees_a_mood_and_a_comfort_then_the_history(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _chromium()
    OUT.mkdir(parents=True, exist_ok=True)
    month = tmp_path / "month"
    make_journals(month, days=30)
    server, stop, thread, runs = _serve_thread(tmp_path, history=(month,))
    try:
        url = f"http://127.0.0.1:{server.port}/"
        started = time.monotonic()
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".person .mood-name[data-mood='sad']"))
        WebDriverWait(browser, 40).until(lambda b: b.find_element(By.ID, "comfort-card").get_attribute("data-comfort"))
        comfort = browser.find_element(By.ID, "comfort").text
        assert comfort in [m for ms in _packaged_en().values() for m in ms], comfort
        banner = browser.find_element(By.ID, "banner")  # over the video, as the window has it
        WebDriverWait(browser, 10).until(lambda b: banner.is_displayed() and banner.text == comfort)
        assert browser.find_elements(By.CSS_SELECTOR, "#events li[data-type='care']")
        assert "live" in browser.find_element(By.ID, "status").text
        assert browser.execute_script("return document.getElementById('video').naturalWidth") > 0
        assert len(browser.find_elements(By.CSS_SELECTOR, ".person .scores .bar")) == 7
        browser.find_element(By.ID, "btn-mute").click()
        WebDriverWait(browser, 15).until(lambda b: "muted" in b.find_element(By.ID, "status").text)
        time.sleep(0.5)
        browser.save_screenshot(str(OUT / "live.png"))
        # the clip's person calms down: the banner fades and is withdrawn, as the window's; the card keeps it, dimmed
        WebDriverWait(browser, 40).until(lambda b: not banner.is_displayed())
        assert "withdrawn" in browser.find_element(By.ID, "comfort").get_attribute("class")
        assert time.monotonic() - started < 75
        # the history: this session beside a month of journals
        browser.get(url + "history")
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(
            "return window.Chart && Object.keys(Chart.instances).length > 0"))
        days = browser.find_elements(By.CSS_SELECTOR, "section.day")
        assert len(days) >= 30
        time.sleep(0.5)
        browser.save_screenshot(str(OUT / "history.png"))
        first = browser.find_element(By.CSS_SELECTOR, "section.day .sessions a")
        browser.get(first.get_attribute("href"))
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(
            "return window.Chart && Object.keys(Chart.instances).length >= 2"))
        time.sleep(0.5)
        browser.save_screenshot(str(OUT / "session.png"))
        browser.get(url + "settings?lang=zh")
        WebDriverWait(browser, 10).until(lambda b: "安慰语" in b.page_source)
        browser.save_screenshot(str(OUT / "settings-zh.png"))
        logs = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
        assert not logs, logs
    finally:
        browser.quit()
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def _two_people(t: float) -> Faces:
    one = mood_faces("sad", t)
    first = one.faces[0]
    second = replace(first, box=(80, 10, 50, 50), track_id=2, mood=replace(first.mood, label="fear"))
    return Faces(faces=(first, second), t=t, primary=1)


def _live_page_says(browser, lang: str) -> dict:
    from selenium.webdriver.common.by import By

    text = lambda css: [e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, css)]
    return {"names": text(".person .mood-name"), "badges": text(".person .badge"), "meta": text(".person-meta"),
            "rate": text("#rate")[0], "heading": text("#live-heading")[0], "note": text("#video-note")[0],
            "disabled": [b.get_property("disabled") for b in browser.find_elements(By.CSS_SELECTOR, "button[data-command]")],
            "body": browser.find_element(By.TAG_NAME, "body").text}


def test_browser_live_page_says_when_the_source_ended_and_marks_the_main_person_among_several(tmp_path):
    """The page fed through the hub as watch.run feeds it: the main person's badge only beside someone else;
    once the source ends, the moods are past, the rate says analysis ended, the controls are disabled, and the
    journal's words (a reason, a note) are said in the page's language."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from emocare.web.server import Server, ServeOptions

    browser = _chromium()
    OUT.mkdir(parents=True, exist_ok=True)
    server = Server(ServeOptions(port=0, cache_dir=tmp_path / "cache"), lang="en", live=True, places=[tmp_path])
    hub, url = server.hub, f"http://127.0.0.1:{server.port}/"
    people = lambda n: lambda b: len(b.find_elements(By.CSS_SELECTOR, ".person")) == n
    try:
        server.start()
        hub.__enter__()
        for t in (2.9, 3.0):  # two analyses, a tenth of a second apart: a rate to show
            hub.on_faces(_two_people(t))
            time.sleep(0.1)
        browser.get(url + "?lang=en")
        WebDriverWait(browser, 15).until(people(2))
        page = _live_page_says(browser, "en")
        assert page["badges"] == ["main person"] and page["names"] == ["sad", "fear"], page
        assert "steady for" in page["meta"][0] and "fps" in page["rate"] and not any(page["disabled"])
        browser.save_screenshot(str(OUT / "live-two.png"))
        hub.on_faces(mood_faces("sad", 4.0))
        WebDriverWait(browser, 10).until(people(1))
        assert _live_page_says(browser, "en")["badges"] == []  # alone: nobody to tell apart
        said_en, said_zh = _packaged_en()["sad"][0], _packaged("zh")["sad"][0]
        hub.on_record(CareRecord(t=4.0, id=1, mood="sad", action="message", message=said_en, lang="en",
                                 note="no audio"))
        hub.on_record(EndRecord(t=5.0, reason="end of source"))
        hub.__exit__(None, None, None)
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "status").text == "session ended")
        page = _live_page_says(browser, "en")
        assert page["names"] == ["Last seen: sad"] and "steady for" not in page["meta"][0], page
        assert page["rate"] == "analysis ended" and all(page["disabled"]) and len(page["disabled"]) == 3
        assert page["heading"] == "How you were when it ended" and page["note"] == "The source has ended."
        assert "stopped: the source has ended" in page["body"] and "no audio" in page["body"]
        assert said_en in page["body"] and said_zh not in page["body"]
        # the note is a bar under the picture, not over it (where it hid a face's number)
        video, note = (browser.find_element(By.ID, i).rect for i in ("video", "video-note"))
        assert note["y"] >= video["y"] + video["height"] - 1 and note["height"] > 0, (video, note)
        browser.save_screenshot(str(OUT / "live-ended.png"))
        browser.get(url + "?lang=zh")
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "status").text == "会话已结束")
        page = _live_page_says(browser, "zh")
        assert page["names"] == ["最后看到：难过"] and page["rate"] == "分析已结束" and all(page["disabled"]), page
        assert page["note"] == "来源已结束。" and "已停止：来源已结束" in page["body"] and "没有音频输出" in page["body"]
        for english in ("no audio", "end of source", "Last seen", "fps", "session", said_en):
            assert english not in page["body"], english
        assert page["body"].count(said_zh) == 2  # the comfort card and what happened: the session's English comfort
        video, note = (browser.find_element(By.ID, i).rect for i in ("video", "video-note"))
        assert note["y"] >= video["y"] + video["height"] - 1, (video, note)
        browser.save_screenshot(str(OUT / "live-ended-zh.png"))
    finally:
        browser.quit()
        server.close()




def test_browser_saves_the_comfort_messages_from_the_settings_page(tmp_path):
    """The settings form, submitted by a real browser, saves: under "Referrer-Policy: no-referrer" Chromium sent
    "Origin: null" with the POST and the CSRF check refused it (403), so no message could be saved from the page.
    "Saved" is said once: the address loses ?saved=1, so a reload does not repeat it."""
    import os
    import tomllib
    from pathlib import Path

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _chromium()
    server, stop, thread, _ = _serve_thread(tmp_path)
    try:
        browser.get(f"http://127.0.0.1:{server.port}/settings")
        box = WebDriverWait(browser, 20).until(lambda b: b.find_element(By.CSS_SELECTOR, "textarea[name='msg-en-sad']"))
        box.clear()
        box.send_keys("You are not alone.\nA cup of tea?")
        browser.find_element(By.CSS_SELECTOR, "form button[type='submit']").click()
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "saved"))
        assert "CSRF" not in browser.page_source
        assert "saved" not in browser.current_url and browser.current_url.endswith("/settings#messages")
        browser.refresh()  # "Saved" is said once: a reload does not say it again
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, "textarea[name='msg-en-sad']"))
        assert not browser.find_elements(By.ID, "saved")
        config = Path(os.environ["XDG_CONFIG_HOME"]) / "emocare" / "config.toml"
        saved = tomllib.loads(config.read_text())
        assert saved["messages"]["en"]["sad"] == ["You are not alone.", "A cup of tea?"], saved
    finally:
        browser.quit()
        stop.set()
        thread.join(60)


def test_browser_phone_live_page_fits_and_keeps_the_comfort_off_the_face(tmp_path):
    """At a phone's 390 px, in Chinese, paused and muted: the page does not scroll sideways (the controls row
    wrapped), no button breaks inside its word (暂/停), and the comfort sits under the video, not over the face."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _chromium()
    server, stop, thread, _ = _serve_thread(tmp_path)
    try:
        browser.set_window_size(390, 1000)
        browser.get(f"http://127.0.0.1:{server.port}/?lang=zh")
        WebDriverWait(browser, 40).until(lambda b: b.find_element(By.ID, "banner").is_displayed())
        for button in ("btn-pause", "btn-mute"):
            browser.find_element(By.ID, button).click()
        WebDriverWait(browser, 15).until(lambda b: "已静音" in b.find_element(By.ID, "status").text)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        lines = browser.execute_script("""return [...document.querySelectorAll('.controls button')].map(b =>
            Math.round(b.getBoundingClientRect().height / parseFloat(getComputedStyle(b).lineHeight)))""")
        assert all(n <= 2 for n in lines), lines  # one line of text plus the padding, never two lines of it
        video, banner = (browser.find_element(By.ID, i).rect for i in ("video", "banner"))
        assert banner["y"] >= video["y"] + video["height"] - 1, (video, banner)
        assert "已暂停" in browser.find_element(By.ID, "rate").text  # no frozen rate while paused
        browser.save_screenshot(str(OUT / "live-phone-zh.png"))
    finally:
        browser.quit()
        stop.set()
        thread.join(60)


def test_browser_a_viewer_turned_away_is_told_and_gets_in_once_a_place_frees(tmp_path):
    """serve --max-viewers 1: a second page showed a broken image and 'reconnecting…' for ever (EventSource gives up
    after a 503); it now says there are too many viewers, and connects once the first page has gone."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _chromium()
    server, stop, thread, _ = _serve_thread(tmp_path, max_streams=2)  # one viewer: its video and its events
    try:
        url = f"http://127.0.0.1:{server.port}/"
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: "live" in b.find_element(By.ID, "status").text)
        first = browser.current_window_handle
        browser.switch_to.new_window("tab")
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: "too many viewers" in b.find_element(By.ID, "status").text)
        second = browser.current_window_handle
        browser.switch_to.window(first)
        browser.close()
        browser.switch_to.window(second)
        WebDriverWait(browser, 40).until(lambda b: b.find_element(By.ID, "status").text.startswith("live"))
    finally:
        browser.quit()
        stop.set()
        thread.join(60)
