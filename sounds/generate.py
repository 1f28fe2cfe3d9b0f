#!/usr/bin/env python3
"""Generate emocare's sounds: a soft chime and two calming tracks (>= 30 s).

Synthesised from scratch with numpy (seeded), so they are reproducible and
licence-clean. Written as 22.05 kHz mono 16-bit WAV, loudness-normalised to a
gentle level (RMS -24 dBFS for the tracks, -26 dBFS for the chime, peaks
below -3 dBFS). Run: ``python sounds/generate.py [OUT_DIR]``.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 22050


def _fade(x: np.ndarray, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    n_in, n_out = int(fade_in_s * RATE), int(fade_out_s * RATE)
    env = np.ones_like(x)
    if n_in:
        env[:n_in] = np.sin(np.linspace(0, np.pi / 2, n_in)) ** 2
    if n_out:
        env[-n_out:] = np.cos(np.linspace(0, np.pi / 2, n_out)) ** 2
    return x * env


def _normalise(x: np.ndarray, rms_dbfs: float, peak_dbfs: float = -3.0) -> np.ndarray:
    x = x - x.mean()
    rms = np.sqrt(np.mean(x ** 2))
    x = x * (10 ** (rms_dbfs / 20) / rms)
    peak = np.abs(x).max()
    limit = 10 ** (peak_dbfs / 20)
    if peak > limit:
        x = x * (limit / peak)
    return x


def chime() -> np.ndarray:
    """A soft two-note bell (E6 then B5), 2.5 s."""
    t = np.arange(int(2.5 * RATE)) / RATE
    out = np.zeros_like(t)
    for start, f0 in ((0.0, 1318.5), (0.35, 987.8)):
        tt = np.clip(t - start, 0, None)
        on = (t >= start).astype(float)
        bell = sum(a * np.sin(2 * np.pi * f0 * r * tt) * np.exp(-tt * d)
                   for a, r, d in ((1.0, 1.0, 2.2), (0.4, 2.01, 3.5), (0.2, 3.0, 5.0), (0.1, 4.2, 7.0)))
        out += on * bell * (1 - np.exp(-tt * 300))
    return _normalise(_fade(out, 0.0, 0.4), -26.0)


def ambient_pad(seconds: float = 40.0) -> np.ndarray:
    """Slow evolving pad: a soft major-seventh chord with detuned voices and a breathing swell (6 breaths/min)."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * RATE)) / RATE
    chords = ((130.81, 164.81, 196.00, 246.94), (110.00, 138.59, 164.81, 207.65))  # Cmaj7, Amaj7
    seg = seconds / 4
    out = np.zeros_like(t)
    for i in range(4):
        notes = chords[i % 2]
        centre = (i + 0.5) * seg
        w = np.exp(-((t - centre) / (seg * 0.75)) ** 2)
        for f in notes:
            for detune in (-0.15, 0.0, 0.15):
                phase = rng.uniform(0, 2 * np.pi)
                out += w * (np.sin(2 * np.pi * (f + detune) * t + phase) + 0.3 * np.sin(2 * np.pi * 2 * (f + detune) * t + phase))
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * t / 10.0)
    return _normalise(_fade(out * swell, 3.0, 4.0), -24.0)


def rain(seconds: float = 40.0) -> np.ndarray:
    """Gentle rain: low-passed noise bed with soft random droplets."""
    rng = np.random.default_rng(11)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    # one-pole low-pass twice (~1.5 kHz) for a soft hiss
    a = np.exp(-2 * np.pi * 1500 / RATE)

    def lowpass(x):
        y = np.empty_like(x)
        acc = 0.0
        for i, v in enumerate(x):
            acc = a * acc + (1 - a) * v
            y[i] = acc
        return y

    bed = lowpass(lowpass(noise))
    t = np.arange(n) / RATE
    bed *= 0.8 + 0.2 * np.sin(2 * np.pi * t / 13.0)
    drops = np.zeros(n)
    for start in rng.uniform(0, seconds - 0.2, size=int(seconds * 6)):
        i = int(start * RATE)
        length = int(0.06 * RATE)
        tt = np.arange(length) / RATE
        f = rng.uniform(1800, 3500)
        drops[i:i + length] += rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * f * tt * (1 - 2 * tt)) * np.exp(-tt * 90)
    return _normalise(_fade(bed + 0.5 * drops * bed.std() * 4, 3.0, 4.0), -24.0)


def write_wav(path: Path, x: np.ndarray) -> None:
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, fn in (("chime.wav", chime), ("calm_pad.wav", ambient_pad), ("calm_rain.wav", rain)):
        x = fn()
        write_wav(out_dir / name, x)
        print(f"{out_dir / name}: {len(x) / RATE:.1f} s, RMS {20 * np.log10(np.sqrt(np.mean(x ** 2))):.1f} dBFS")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
