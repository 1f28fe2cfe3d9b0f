"""Comfort: the policy decides, the carer shows, journals and (off the video loop) speaks and plays.

``Carer.observe`` runs on the analysis path and only does cheap things:
ask the policy, pick a message, set the banner, hand audio work to the
worker. The worker (a thread with a one-slot queue) renders speech and plays
sounds; a new comfort never talks over one still playing (it is shown and
journalled, but not voiced).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from emocare.care.messages import Messages
from emocare.care.policy import CareAction, CarePolicy
from emocare.care.sound import CHIME, TRACKS, Player, sound_path
from emocare.care.speech import Speech
from emocare.faces import Faces
from emocare.records import CareRecord

log = logging.getLogger(__name__)

BANNER_S = 10.0


@dataclass(frozen=True)
class CareJob:
    action: CareAction
    text: str
    english: str
    lang: str


class AudioWorker:
    """Renders speech and plays sounds on its own thread; one job at a time, new ones dropped while busy."""

    def __init__(self, player: Player, speech: Speech, journal):
        self.player = player
        self.speech = speech
        self.journal = journal
        self._queue: queue.Queue[CareJob | None] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._tracks = itertools.cycle(TRACKS)
        self._thread = threading.Thread(target=self._run, name="care-audio", daemon=True)
        self._thread.start()

    def submit(self, job: CareJob) -> bool:
        if self._busy.is_set():
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            return False
        self._busy.set()
        return True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                audio, speech_via = self._perform(job)
            except Exception as exc:  # audio must never take the session down
                log.warning("comfort audio failed: %s", exc)
                audio, speech_via = [], "error"
            write_care(self.journal, job, audio=audio, speech=speech_via)
            self._busy.clear()

    def _perform(self, job: CareJob) -> tuple[list[str], str | None]:
        level = job.action.level
        played: list[str] = []
        speech_via = None

        def play(path: Path, kind: str) -> None:
            where = self.player.play(path, kind)
            if where is not None:
                played.append(str(where))
                self.player.wait(timeout=60, stop_event=self._stop)

        if level == "message":
            play(sound_path(CHIME), "chime")
            return played, None
        rendered = self.speech.render(job.text, job.lang)
        speech_via = rendered.via
        if rendered.path is not None:
            play(rendered.path, f"speech-{job.lang}")
        else:
            play(sound_path(CHIME), "chime")
        if level == "music" and not self._stop.is_set():
            where = self.player.play(sound_path(next(self._tracks)), "music")
            if where is not None:
                played.append(str(where))
        return played, speech_via

    def close(self, drain_timeout: float = 60.0) -> None:
        """Finish the job in hand (so its journal line is written), then stop."""
        try:
            self._queue.put(None, timeout=drain_timeout)
        except queue.Full:
            pass
        self._thread.join(timeout=drain_timeout)
        self._stop.set()
        self.player.stop()


def write_care(journal, job: CareJob, *, audio: list[str], speech: str | None, note: str | None = None) -> None:
    a = job.action
    journal.write(CareRecord(t=a.t, id=a.person, mood=a.mood, action=a.level, message=job.text, lang=job.lang,
                             negative_for_s=round(a.negative_for_s, 3), audio=audio, speech=speech, note=note or None))


class Carer:
    def __init__(self, policy: CarePolicy, messages: Messages, lang: str, journal, *,
                 worker: AudioWorker | None = None, quiet: bool = False):
        self.policy = policy
        self.messages = messages
        self.lang = lang
        self.journal = journal
        self.worker = worker
        self.quiet = quiet
        self.muted = False
        self._banner: tuple[str, str, float] | None = None

    def observe(self, faces: Faces) -> None:
        for action in self.policy.decide(faces):
            text, english = self.messages.pick(action.mood, self.lang)
            self._banner = (text, english, action.t + BANNER_S)
            job = CareJob(action, text, english, self.lang)
            if self.quiet or self.muted or self.worker is None:
                note = "quiet" if self.quiet else "muted" if self.muted else "no audio"
                write_care(self.journal, job, audio=[], speech=None, note=note)
            elif not self.worker.submit(job):
                write_care(self.journal, job, audio=[], speech=None, note="previous comfort still playing")

    def banner(self, t: float) -> tuple[str, str] | None:
        if self._banner is None:
            return None
        text, english, until = self._banner
        return (text, english) if t < until else None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def build_carer(settings, journal, *, speech: Speech | None = None) -> Carer:
    policy = CarePolicy.from_settings(settings)
    messages = Messages(settings.messages)
    worker = None
    if not settings.quiet and settings.audio != "none":
        worker = AudioWorker(Player(settings.audio), speech or Speech(), journal)
    return Carer(policy, messages, settings.language, journal, worker=worker, quiet=settings.quiet)
