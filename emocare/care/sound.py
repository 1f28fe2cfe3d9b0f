"""Playback: playsound3, non-blocking and stoppable, or files written to a folder.

``mode``: ``auto`` plays through playsound3; ``none`` plays nothing;
``file:DIR`` copies each sound it would play into DIR (numbered), for
headless runs and tests. With no audio backend, it logs once and goes on
silently (the visual comfort still happens).
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
from importlib import resources
from pathlib import Path

from emocare.names import make_folder

log = logging.getLogger(__name__)

CHIME = "chime.wav"
TRACKS = ("calm_pad.wav", "calm_rain.wav")


def sound_path(name: str) -> Path:
    """A packaged sound file (installed as ``emocare.sounds``)."""
    return Path(str(resources.files("emocare.sounds").joinpath(name)))


class Player:
    def __init__(self, mode: str = "auto", *, without_audio: str = "comfort continues on screen only"):
        self.mode = mode
        self.without_audio = without_audio  # what the one warning says happens instead
        self._current = None
        self._disabled = mode == "none"
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.out_dir = Path(mode[5:]) if mode.startswith("file:") else None
        if self.out_dir is not None:
            try:
                make_folder(self.out_dir)
            except OSError as exc:
                self._cannot_write(exc)

    @property
    def enabled(self) -> bool:
        return not self._disabled

    def play(self, path: Path, kind: str, block: bool = False) -> Path | None:
        """Play ``path`` (stopping whatever is playing). Returns where it went, or None."""
        if self._disabled:
            return None
        if self.out_dir is not None:
            with self._lock:
                dest = self.out_dir / f"{next(self._counter):04d}-{kind}{path.suffix}"
            try:
                shutil.copyfile(path, dest)
            except OSError as exc:
                self._cannot_write(exc)
                return None
            return dest
        self.stop()
        try:
            from playsound3 import playsound

            self._current = playsound(str(path), block=block)
        except Exception as exc:  # playsound3 raises PlaysoundException or backend errors
            log.warning("no audio output (%s): %s", str(exc).splitlines()[0][:160], self.without_audio)
            self._disabled = True
            return None
        return path

    def _cannot_write(self, exc: OSError) -> None:
        """``--audio file:DIR`` that cannot be written: said once, like a missing audio device, and the comfort goes
        on without sound."""
        if not self._disabled:
            log.warning("--audio file:%s: cannot write (%s): %s", self.out_dir, exc.strerror or exc, self.without_audio)
        self._disabled = True

    def wait(self, timeout: float | None = None, stop_event: threading.Event | None = None) -> None:
        """Wait until the current sound ends (or ``timeout``/``stop_event``)."""
        sound = self._current
        if sound is None:
            return
        waited = 0.0
        while sound.is_alive():
            if stop_event is not None and stop_event.wait(0.1):
                return
            if stop_event is None:
                threading.Event().wait(0.1)
            waited += 0.1
            if timeout is not None and waited >= timeout:
                return

    def stop(self) -> None:
        sound, self._current = self._current, None
        if sound is not None:
            try:
                sound.stop()
            except Exception as exc:  # a backend process may already be gone
                log.debug("stop failed: %s", exc)
