"""``emocare say`` and ``emocare voices cache``: a line spoken, the comfort messages rendered ahead."""

from __future__ import annotations

import typer

from emocare.commands import check_audio_dir, load_settings, stderr_console
from emocare.errors import ConfigError, EmocareError
from emocare.exits import Exit


def say(text, lang, audio, config) -> None:
    from emocare.care.sound import Player
    from emocare.care.speech import Speech

    if not text.strip():  # gTTS refuses it, and the local TTS would say nothing
        raise ConfigError("say: nothing to say (give the words to speak, e.g. emocare say \"I'm here.\")")
    settings, _ = load_settings(config, lang=lang, audio=audio)
    check_audio_dir(settings)
    rendered = Speech().render(text, settings.language)
    if rendered.path is None:
        raise EmocareError("no speech available: gTTS is unreachable and no local TTS is installed (apt-get install espeak-ng)")
    player = Player(settings.audio, without_audio="nothing was played (the speech stays in its file)")
    where = player.play(rendered.path, f"say-{settings.language}")
    player.wait(timeout=120)
    if where is None:  # --audio none, or no audio output (which the player has said, once)
        typer.echo(f"not played; speech via {rendered.via}: {rendered.path}")
        if settings.audio != "none":  # say is how an audio setup is tested: one that plays nothing fails the test
            raise typer.Exit(Exit.FAILED)
    else:
        typer.echo(f"spoken via {rendered.via}: {rendered.path}" + (f" -> {where}" if where != rendered.path else ""))


def voices_cache(lang, config) -> None:
    from rich.progress import track

    from emocare.care.messages import Messages
    from emocare.care.speech import Speech

    settings, _ = load_settings(config)
    speech = Speech(retry_after_s=1e9)
    items = [(t, lg) for t, lg in Messages(settings.messages).all() if lang is None or lg == lang]
    via: dict[str, int] = {}
    for text, lg in track(items, description="rendering", console=stderr_console()):
        r = speech.render(text, lg, prefer_online=True)
        via[r.via] = via.get(r.via, 0) + 1
    typer.echo(f"{len(items)} messages in {speech.cache_dir}: " + ", ".join(f"{n} via {k}" for k, n in sorted(via.items())))
    if "gtts" not in via and "cache" not in via and not speech.warned:  # said once already, with the reason
        typer.echo("emocare: warning: gTTS was unreachable; messages were rendered with the local TTS instead", err=True)
