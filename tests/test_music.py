"""The music bed from the packaged library: picked by mood, exact length, seamless loop, deterministic, fallback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from immich_memories_music import tracks_dir

from storygen.art.moods import PALETTES
from storygen.errors import InputError
from storygen.media.music import (
    LIBRARY_MOODS,
    SR,
    generate_music_bed,
    library_mood,
    make_music_bed,
)


def _read(path: Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    assert sr == SR and x.shape[1] == 2
    return x


def _scale(bed: np.ndarray, src: np.ndarray) -> float:
    """Least-squares k with bed ~= k * src (the bed is the track at a fixed gain)."""
    return float((bed * src).sum() / (src * src).sum())


def _levels(m: np.ndarray, win: int = 480) -> np.ndarray:  # 10 ms RMS, dB
    k = len(m) // win
    return 10 * np.log10((m[: k * win].reshape(k, win) ** 2).mean(1) + 1e-10)


def _flux(m: np.ndarray, n: int = 256, hop: int = 128) -> np.ndarray:  # short-frame spectral flux
    w = np.lib.stride_tricks.sliding_window_view(m, n)[::hop] * np.hanning(n)
    s = np.log(np.abs(np.fft.rfft(w, axis=1)) + 1e-3)
    return np.maximum(np.diff(s, axis=0), 0).mean(1)


def _seam_faults(mix: np.ndarray, out_side: np.ndarray, in_side: np.ndarray) -> tuple[float, float]:
    """(dB outside the two sides' level range, spectral flux above both sides') over aligned windows."""
    lm, la, lb = _levels(mix), _levels(out_side), _levels(in_side)
    level = max(float((lm - np.maximum(la, lb)).max()), float((np.minimum(la, lb) - lm).max()))
    fm, fa, fb = _flux(mix), _flux(out_side), _flux(in_side)
    return level, float((fm - np.maximum(fa, fb)).max())


def test_every_planner_mood_has_a_library_mood():
    mapped = {m: library_mood(m) for m in PALETTES}  # the planner's moods
    assert set(mapped.values()) <= set(LIBRARY_MOODS)
    assert set(mapped.values()) | {library_mood(m) for m in LIBRARY_MOODS} == set(LIBRARY_MOODS)
    assert mapped["wistful"] == "nostalgic" and mapped["tense"] == "energetic" and mapped["romantic"] == "tender"
    assert library_mood("a melancholy tale") == "nostalgic" and library_mood("whatever") == "calm"


@pytest.mark.parametrize("mood,expected", [("calm", "calm"), ("epic", "energetic"), ("playful", "happy"),
                                           ("eerie", "nostalgic"), ("warm", "tender")])
def test_the_track_comes_from_the_package(tmp_path, mood, expected):
    bed = make_music_bed(tmp_path / "m.wav", 6.0, mood, seed=3)
    assert bed.source == "library" and bed.warning is None and bed.mood == expected
    assert bed.track.startswith(f"{expected}/") and bed.library == "immich-memories-music==0.1.0"
    src, _ = sf.read(tracks_dir() / bed.track, dtype="float64", always_2d=True)
    y = _read(bed.path)
    assert y.shape == (6 * SR, 2) and not bed.seams  # shorter than the track: no loop
    mid = slice(SR // 2, 3 * SR)  # between the fades: the track itself, at one gain
    k = _scale(y[mid], src[mid])
    assert 0.1 < k < 1.0
    assert np.abs(y[mid] - k * src[mid]).max() < 1e-3
    assert abs(20 * np.log10(np.abs(y).max()) + 9.0) < 0.1  # peak at -9 dBFS


@pytest.fixture(scope="module")
def long_bed(tmp_path_factory):
    bed = make_music_bed(tmp_path_factory.mktemp("music") / "long.wav", 75.25, "wistful", seed=1)
    src, _ = sf.read(tracks_dir() / bed.track, dtype="float64", always_2d=True)
    return bed, _read(bed.path), src


def test_length_is_exact(tmp_path, long_bed):
    bed, y, _ = long_bed
    assert y.shape[0] == round(75.25 * SR) and bed.seconds == pytest.approx(75.25)
    assert len(bed.seams) >= 2 and bed.loop[1] - bed.loop[0] >= 8.0
    assert np.sqrt(np.mean(y[-480:] ** 2)) < 1e-3 < np.sqrt(np.mean(y[-3 * SR:-2 * SR] ** 2))  # faded out at the end
    for seconds in (0.5, 7.3, 33.01):
        z = _read(generate_music_bed(tmp_path / f"{seconds}.wav", seconds, "hopeful", seed=2))
        assert z.shape[0] == round(seconds * SR)


def test_the_loop_seam_has_no_click(long_bed):
    bed, y, src = long_bed
    head, tail = (round(t * SR) for t in bed.loop)
    fade, pad = round(bed.crossfade * SR), SR // 20
    assert 0.3 * SR <= fade <= SR  # about a beat
    k = _scale(y[SR: 5 * SR], src[SR: 5 * SR])
    own_flux = _flux(src[SR: tail + fade].mean(1)).max()
    checked = 0
    for s in (round(t * SR) for t in bed.seams):
        if s + fade + pad > y.shape[0] - 3 * SR:  # inside the closing fade-out
            continue
        assert np.abs(y[s - SR: s] - k * src[tail - SR: tail]).max() < 1e-3  # before: the track up to the tail
        after = slice(s + fade, s + fade + SR)
        assert np.abs(y[after] - k * src[head + fade: head + fade + SR]).max() < 1e-3  # after: on from the head
        mix = y[s - pad: s + fade + pad].mean(1) / k
        level, flux = _seam_faults(mix, src[tail - pad: tail + fade + pad].mean(1), src[head - pad: head + fade + pad].mean(1))
        assert level < 3.0, f"the crossfade dips or swells by {level:.1f} dB"
        assert flux < 0.25, f"spectral flux {flux:.2f} above both sides: a click"
        assert _flux(mix).max() <= own_flux
        checked += 1
    assert checked >= 2
    # the same measure catches a hard splice: the track cut at the tail straight into the head's biggest jump
    cand = np.arange(head, head + SR // 2)
    h2 = int(cand[np.argmax(np.abs(src[cand].mean(1) - src[tail - 1].mean()))])
    splice = np.concatenate([src[tail - SR // 10: tail], src[h2: h2 + SR // 10]]).mean(1)
    _, flux = _seam_faults(splice, src[tail - SR // 10: tail + SR // 10].mean(1), src[h2 - SR // 10: h2 + SR // 10].mean(1))
    assert flux > 0.5


def test_the_bed_is_deterministic(tmp_path, long_bed):
    bed, _, _ = long_bed
    again = make_music_bed(tmp_path / "again.wav", 75.25, "wistful", seed=1)
    assert again.path.read_bytes() == bed.path.read_bytes()
    assert again.record() == {**bed.record(), "path": str(again.path)}
    json.dumps(again.record())
    picks = {make_music_bed(tmp_path / f"s{s}.wav", 1.0, "wistful", seed=s).track for s in range(12)}
    assert len(picks) >= 3 and all(p.startswith("nostalgic/") for p in picks)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_a_missing_package_falls_back_to_the_synthesized_pad(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "immich_memories_music", None)  # import now raises ImportError
    bed = make_music_bed(tmp_path / "pad.wav", 4.5, "eerie", seed=5)
    assert bed.source == "synth" and bed.track is None and bed.mood == "eerie"
    assert "pip install immich-memories-music==0.1.0" in bed.warning and "\n" not in bed.warning
    x = _read(bed.path)
    assert x.shape == (round(4.5 * SR), 2) and 0.05 < np.abs(x).max() < 0.5
    spec, f = np.abs(np.fft.rfft(x[:, 0])), np.fft.rfftfreq(x.shape[0], 1 / SR)
    assert spec[f > 6000].sum() < 0.01 * spec.sum()  # the low-passed pad, not a library track
    with pytest.warns(UserWarning, match="synthesized pad"):
        path = generate_music_bed(tmp_path / "pad2.wav", 4.5, "eerie", seed=5)
    assert path.read_bytes() == bed.path.read_bytes()


def test_an_unreadable_library_falls_back(tmp_path):
    lib = tmp_path / "lib"
    (lib / "calm").mkdir(parents=True)
    (lib / "calm" / "broken.opus").write_bytes(b"OggS" + bytes(200))  # cut off: soundfile cannot decode it
    bed = make_music_bed(tmp_path / "a.wav", 3.0, "calm", seed=0, library=lib)
    assert bed.source == "synth" and "could not be used" in bed.warning
    bed = make_music_bed(tmp_path / "b.wav", 3.0, "tense", seed=0, library=lib)  # no energetic/ folder
    assert bed.source == "synth" and "no tracks" in bed.warning
    assert _read(bed.path).shape == (3 * SR, 2)
    with pytest.raises(InputError, match="out of range"):
        make_music_bed(tmp_path / "c.wav", 0.0, "calm", seed=0)
