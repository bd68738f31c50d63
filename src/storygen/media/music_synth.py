"""The fallback music bed, synthesized: a slow, low-passed pad on a mood-dependent chord progression.

Used when the packaged music library is not installed (see ``storygen.media.music``). Pure numpy/scipy (no
per-sample Python loops), stereo, deterministic for (duration, mood, seed).
"""

from __future__ import annotations

import hashlib

from storygen.errors import InputError

SR = 48000
_SYN = 12000  # synthesis rate: everything is low-passed under 2.5 kHz, then upsampled 4x to SR

# chords as semitone offsets from the key's root (root, third, fifth, colour note)
_MINOR = {
    "sad": [(0, 3, 7, 10), (-4, 0, 3, 7), (-9, -5, -2, 3), (-2, 2, 5, 9)],  # i  VI  III(low)  VII
    "eerie": [(0, 3, 7, 14), (1, 5, 8, 13), (0, 3, 7, 11), (-5, -2, 2, 6)],  # i  bII  i(maj7)  v
    "tense": [(0, 3, 7, 12), (5, 8, 12, 15), (-4, 0, 3, 7), (-5, -1, 2, 7)],  # i  iv  bVI  V
}
_MAJOR = {
    "hopeful": [(0, 4, 7, 14), (-5, -1, 2, 7), (-3, 0, 4, 9), (-7, -3, 0, 5)],  # I  V  vi  IV
    "warm": [(0, 4, 7, 11), (-8, -5, -1, 4), (-7, -3, 0, 4), (-5, -1, 2, 9)],  # Imaj7 iii IV V6
    "funny": [(0, 4, 7, 12), (5, 9, 12, 17), (7, 11, 14, 19), (5, 9, 12, 17)],  # I  IV  V  IV
    "calm": [(0, 4, 7, 14), (-7, -3, 0, 7), (-3, 0, 4, 11), (-7, -3, 2, 7)],  # I  IV  vi  IVsus
}
_ALIASES = {
    "dark": "eerie", "mysterious": "eerie", "spooky": "eerie", "scary": "tense", "horror": "eerie",
    "suspense": "tense", "tense": "tense", "melancholy": "sad", "tragic": "sad", "somber": "sad", "sombre": "sad",
    "happy": "funny", "playful": "funny", "comic": "funny", "whimsical": "funny", "uplifting": "hopeful",
    "inspiring": "hopeful", "romantic": "warm", "cozy": "warm", "cosy": "warm", "peaceful": "calm",
    "serene": "calm", "neutral": "calm", "epic": "hopeful", "adventurous": "hopeful",
}


def mood_family(mood: str) -> tuple[str, bool]:
    """(progression name, is_minor) for a free-text mood; unknown moods get 'calm' (major)."""
    words = [w.strip(".,;:!?") for w in str(mood or "").lower().split()]
    for w in words:
        name = w if (w in _MINOR or w in _MAJOR) else _ALIASES.get(w)
        if name:
            return name, name in _MINOR
    return "calm", False


def _lowpass(x, cutoff: float):
    from scipy.signal import butter, sosfilt

    sos = butter(2, cutoff, btype="low", fs=_SYN, output="sos")
    return sosfilt(sos, x, axis=-1)


def synth_bed(duration: float, mood: str, seed: int):
    """Return float32 stereo samples, shape (n, 2), at 48 kHz."""
    import numpy as np

    if not (duration > 0) or duration > 3600:
        raise InputError(f"Music bed length {duration!r} s is out of range.", "use a duration between 0 and 3600 s.")
    name, minor = mood_family(mood)
    prog = (_MINOR if minor else _MAJOR)[name]
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    root_midi = int(rng.choice([45, 46, 47, 48, 50, 52])) if minor else int(rng.choice([48, 50, 52, 53, 55]))
    chord_len = {"funny": 3.2, "hopeful": 4.5, "warm": 5.0, "calm": 6.0, "sad": 6.0, "eerie": 7.0, "tense": 4.0}[name]
    chord_len *= float(rng.uniform(0.9, 1.1))
    rot = int(rng.integers(0, len(prog)))
    prog = prog[rot:] + prog[:rot]
    cutoff = {"funny": 2400.0, "hopeful": 1800.0, "warm": 1500.0, "calm": 1400.0}.get(name, 1100.0)

    n_final = int(round(duration * SR))
    n = -(-n_final // (SR // _SYN))
    out = np.zeros((2, n), np.float64)
    xfade = min(2.0, chord_len / 2)
    n_chords = int(np.ceil(duration / chord_len)) + 1
    detune = 2 ** (np.array([-4.0, 4.0]) / 1200)  # +-4 cents: L/R chorus
    for c in range(n_chords):
        t0 = c * chord_len - xfade / 2
        a, b = max(0, int(t0 * _SYN)), min(n, int((t0 + chord_len + xfade) * _SYN))
        if b <= a:
            continue
        t = np.arange(a, b) / _SYN
        local = t - t0
        seg_len = chord_len + xfade
        env = np.clip(np.minimum(local / xfade, (seg_len - local) / xfade), 0, 1)
        env = np.sin(env * np.pi / 2) ** 2  # equal-sum raised-cosine crossfade
        chord = prog[c % len(prog)]
        tone = np.zeros((2, b - a))
        for j, off in enumerate(chord):
            midi = root_midi + off + (12 if j else 0)
            f = 440.0 * 2 ** ((midi - 69) / 12)
            ph = rng.uniform(0, 2 * np.pi, 2)[:, None]
            amp = 0.55 if j == 0 else 0.32
            for k, pa in ((1, 1.0), (2, 0.35), (3, 0.16), (4, 0.07)):
                tone += amp * pa * np.sin(2 * np.pi * f * k * detune[:, None] * t[None, :] + k * ph)
        # slow swell inside the chord
        lfo = 0.85 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.07, 0.15) * t + rng.uniform(0, 2 * np.pi))
        out[:, a:b] += tone * env * lfo
    # a little soft air: low-passed noise
    out += 0.02 * _lowpass(rng.standard_normal((2, n)), 600.0)
    out = _lowpass(out, cutoff)
    fin, fout = min(1.5, duration / 4), min(2.5, duration / 4)
    ramp = np.ones(n)
    k_in, k_out = max(1, int(fin * _SYN)), max(1, int(fout * _SYN))
    ramp[:k_in] = np.linspace(0, 1, k_in) ** 2
    ramp[-k_out:] = np.minimum(ramp[-k_out:], np.linspace(1, 0, k_out) ** 2)
    out *= ramp
    from scipy.signal import resample_poly

    out = resample_poly(out, SR // _SYN, 1, axis=1)[:, :n_final]
    peak = float(np.max(np.abs(out))) or 1.0
    out *= 10 ** (-9 / 20) / peak  # quiet: peak at -9 dBFS
    return out.T.astype(np.float32)
