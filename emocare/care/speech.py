"""Spoken comfort: gTTS rendered once per (text, language) into a disk cache.

Offline or when gTTS fails: a local TTS when one is present (espeak-ng, or
pyttsx3), else nothing (the caller falls back to the chime and the on-screen
text). One warning line, never a crash. After a gTTS network failure, gTTS is
not tried again for ``retry_after_s`` seconds, so an offline session does not
pay a timeout per message.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emocare.care.messages import ESPEAK_VOICE, TTS_LANG

log = logging.getLogger(__name__)

GTTS_TIMEOUT_S = 5.0  # a stalled network or proxy costs at most this, then local speech


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("emocare")) / "speech"


@dataclass(frozen=True)
class Rendered:
    path: Path | None
    via: str  # "cache", "gtts", "espeak-ng", "pyttsx3" or "none"


class Speech:
    def __init__(self, cache_dir: Path | None = None, *, use_gtts: bool = True, retry_after_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, gtts_timeout_s: float = GTTS_TIMEOUT_S):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_gtts = use_gtts
        self.retry_after_s = retry_after_s
        self.gtts_timeout_s = gtts_timeout_s
        self.clock = clock
        self._gtts_failed_at: float | None = None
        self._warned = False

    def key(self, text: str, lang: str) -> str:
        return f"{lang}-" + hashlib.sha256(f"{lang}\n{text}".encode("utf-8")).hexdigest()[:20]

    def cached(self, text: str, lang: str) -> Path | None:
        for ext in (".mp3", ".wav"):
            p = self.cache_dir / (self.key(text, lang) + ext)
            if p.is_file() and p.stat().st_size > 0:
                return p
        return None

    def render(self, text: str, lang: str, *, prefer_online: bool = False) -> Rendered:
        """An audio file speaking ``text``: from cache, gTTS, or a local TTS."""
        hit = self.cached(text, lang)
        if hit is not None and not (prefer_online and hit.suffix == ".wav"):
            return Rendered(hit, "cache")
        self._writable_cache()
        if self.use_gtts and self._gtts_allowed():
            path = self._gtts(text, lang)
            if path is not None:
                return Rendered(path, "gtts")
        if hit is not None:
            return Rendered(hit, "cache")
        for via, fn in (("espeak-ng", self._espeak), ("pyttsx3", self._pyttsx3)):
            path = fn(text, lang)
            if path is not None:
                return Rendered(path, via)
        self._warn("no speech: gTTS is unreachable and no local TTS (espeak-ng or pyttsx3) is installed; "
                   "showing the message with a chime instead")
        return Rendered(None, "none")

    def _writable_cache(self) -> None:
        """The cache folder, created; one that cannot be written (read-only) is replaced, once and said once, by a
        private temporary folder: speech still works, it is only not kept."""
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            probe = self.cache_dir / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            import atexit
            import tempfile

            fallback = Path(tempfile.mkdtemp(prefix="emocare-speech-"))
            atexit.register(shutil.rmtree, fallback, True)
            log.warning("%s: cannot write the speech cache (%s); speech is rendered afresh into %s",
                        self.cache_dir, exc.strerror or exc, fallback)
            self.cache_dir = fallback

    def _gtts_allowed(self) -> bool:
        return self._gtts_failed_at is None or self.clock() - self._gtts_failed_at >= self.retry_after_s

    @property
    def warned(self) -> bool:
        """Whether this speech has already said (once) that gTTS or every TTS was unavailable."""
        return self._warned

    def _warn(self, message: str) -> None:
        if not self._warned:
            log.warning("%s", message)
            self._warned = True

    def _gtts(self, text: str, lang: str) -> Path | None:
        try:
            from gtts import gTTS
        except ImportError:
            return None
        target = self.cache_dir / (self.key(text, lang) + ".mp3")
        tmp = target.with_name(f"{target.stem}.{os.getpid()}-{time.monotonic_ns()}.part")
        limit = self.gtts_timeout_s
        box: dict = {}

        def fetch() -> None:  # on a helper thread: a server that trickles bytes still cannot hold us past ``limit``
            try:
                gTTS(text=text, lang=TTS_LANG.get(lang, lang), timeout=limit).save(str(tmp))
                box["ok"] = True
            except Exception as exc:  # gTTS raises its own errors, requests' and OSError: all mean "not now"
                box["error"] = exc

        worker = threading.Thread(target=fetch, name="gtts", daemon=True)
        worker.start()
        worker.join(limit)
        try:
            if worker.is_alive():  # left behind: it writes only its own .part file, removed at exit
                import atexit

                atexit.register(lambda: tmp.unlink(missing_ok=True))
                raise TimeoutError(f"no answer within {limit:g} s")
            if "error" in box:
                raise box["error"]
            if tmp.stat().st_size == 0:
                raise OSError("empty audio")
            os.replace(tmp, target)
            self._gtts_failed_at = None
            return target
        except Exception as exc:
            if not worker.is_alive():
                tmp.unlink(missing_ok=True)
            self._gtts_failed_at = self.clock()
            self._warn(f"gTTS unavailable ({type(exc).__name__}: {str(exc)[:120]}); using local speech if present")
            return None

    def _espeak(self, text: str, lang: str) -> Path | None:
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            return None
        target = self.cache_dir / (self.key(text, lang) + ".wav")
        try:
            # the text goes on stdin, never as an argument: "-f/etc/hostname" is something to say, not an option
            subprocess.run([exe, "-v", ESPEAK_VOICE.get(lang, "en"), "-s", "140", "-a", "80", "-w", str(target),
                            "--stdin"], input=text.encode("utf-8", "surrogateescape"), check=True,
                           capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("espeak-ng failed: %s", exc)
            target.unlink(missing_ok=True)
            return None
        return target if target.is_file() and target.stat().st_size > 44 else None

    def _pyttsx3(self, text: str, lang: str) -> Path | None:
        if importlib.util.find_spec("pyttsx3") is None:
            return None
        target = self.cache_dir / (self.key(text, lang) + ".wav")
        try:
            import pyttsx3

            engine = pyttsx3.init()
            engine.save_to_file(text, str(target))
            engine.runAndWait()
        except Exception as exc:  # pyttsx3 drivers raise anything
            log.debug("pyttsx3 failed: %s", exc)
            return None
        return target if target.is_file() and target.stat().st_size > 44 else None
