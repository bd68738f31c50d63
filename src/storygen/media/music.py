"""The music bed: a track from the packaged music library, picked by the story's mood and looped to length.

The library is ``immich-memories-music`` (MIT, no attribution needed): about 30 s Ogg Opus tracks, one folder per
mood (calm, energetic, happy, nostalgic, tender). The planner's moods are mapped onto those five; the seed picks
the track within the mood. A bed longer than the track loops with a seamless beat-length crossfade
(``music_loop``) and ends on a short fade-out. Without the library the bed falls back to the synthesized pad of
``music_synth`` and says so. Deterministic for (duration, mood, seed).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from storygen.errors import InputError
from storygen.media.music_synth import SR, mood_family, synth_bed
from storygen.workspace import atomic_path

__all__ = ["LIBRARY_MOODS", "SR", "MusicBed", "generate_music_bed", "library_mood", "make_music_bed", "mood_family"]

LIBRARY = "immich-memories-music"
LIBRARY_MOODS = ("calm", "energetic", "happy", "nostalgic", "tender")
_AUDIO = {".opus", ".ogg", ".flac", ".wav"}
# the planner's moods (storygen.art.moods), the synth's chord families and a few more tone words
_TO_LIBRARY = {
    "eerie": "nostalgic", "sad": "nostalgic", "wistful": "nostalgic", "bittersweet": "nostalgic",
    "tense": "energetic", "epic": "energetic", "exciting": "energetic", "action": "energetic", "dramatic": "energetic",
    "hopeful": "happy", "playful": "happy", "funny": "happy", "joyful": "happy", "cheerful": "happy",
    "warm": "tender", "romantic": "tender", "gentle": "tender", "love": "tender", "loving": "tender",
    "calm": "calm",
}
_PEAK_DB = -9.0  # quiet bed with headroom; the render gain-matches it under the voice anyway


@dataclass(frozen=True)
class MusicBed:
    """What was written, and from what: enough for the final stage to record in its info."""

    path: Path
    source: Literal["library", "synth"]
    mood: str  # the library mood, or the synth's chord family
    seconds: float
    track: str | None = None  # "<mood>/<file>" inside the library
    library: str | None = None  # "immich-memories-music==0.1.0"
    loop: tuple[float, float] | None = None  # (head, tail) in the track, s: each loop jumps from tail to head
    crossfade: float = 0.0  # s
    seams: tuple[float, ...] = ()  # where each crossfade starts in the bed, s
    match: float | None = None  # waveform correlation across the seam (1 = identical)
    warning: str | None = None  # set when the bed fell back to the synthesized pad

    def record(self) -> dict:
        """A JSON-ready dict for the stage's info (times rounded to the millisecond)."""
        d = asdict(self)
        d["path"] = os.fspath(self.path)
        d["seconds"], d["crossfade"] = round(self.seconds, 3), round(self.crossfade, 3)
        d["loop"] = tuple(round(t, 3) for t in self.loop) if self.loop else None
        d["seams"] = tuple(round(t, 3) for t in self.seams)
        return {k: v for k, v in d.items() if v not in (None, (), [])}


def library_mood(mood: str) -> str:
    """One of LIBRARY_MOODS for a planner mood or free-text tone; unknown words give 'calm'."""
    words = [w.strip(".,;:!?") for w in str(mood or "").lower().split()]
    for w in words:
        if w in LIBRARY_MOODS:
            return w
        if w in _TO_LIBRARY:
            return _TO_LIBRARY[w]
    return _TO_LIBRARY[mood_family(mood)[0]]


def _library_root() -> tuple[Path | None, str]:
    try:
        from immich_memories_music import tracks_dir
    except ImportError:
        return None, ""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return Path(tracks_dir()), f"{LIBRARY}=={version(LIBRARY)}"
    except PackageNotFoundError:
        return Path(tracks_dir()), LIBRARY


def _read_track(path: Path):
    import numpy as np
    import soundfile as sf

    x, sr = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
    if sr != SR:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(SR, sr)
        x = resample_poly(x, SR // g, sr // g, axis=0).astype(np.float32)
    if x.shape[0] < SR or not np.any(x):
        raise ValueError("shorter than a second or silent")
    return x


def _shape(x, n: int):
    """Raised-cosine fade-in (short: the track starts on its own) and fade-out, then the peak at _PEAK_DB."""
    import numpy as np

    dur = n / SR
    k_in, k_out = max(1, int(min(0.3, dur / 8) * SR)), max(1, int(min(2.5, dur / 4) * SR))
    ramp = np.ones(n, np.float64)
    ramp[:k_in] = np.sin(np.linspace(0, np.pi / 2, k_in)) ** 2
    ramp[-k_out:] = np.minimum(ramp[-k_out:], np.cos(np.linspace(0, np.pi / 2, k_out)) ** 2)
    y = x.astype(np.float64) * ramp[:, None]
    peak = float(np.max(np.abs(y))) or 1.0
    return (y * (10 ** (_PEAK_DB / 20) / peak)).astype(np.float32)


def _from_library(path: Path, n: int, mood: str, seed: int, root: Path, label: str) -> tuple[object, MusicBed]:
    from storygen.media.music_loop import find_loop, loop_to_length

    lib = library_mood(mood)
    tracks = sorted(p for p in (root / lib).glob("*") if p.suffix.lower() in _AUDIO and p.is_file())
    if not tracks:
        raise ValueError(f"no tracks in {root / lib}")
    digest = hashlib.sha256(f"{seed}:{lib}".encode()).digest()
    chosen = tracks[int.from_bytes(digest[:8], "little") % len(tracks)]
    x = _read_track(chosen)
    bed = {"path": Path(path), "source": "library", "mood": lib, "seconds": n / SR, "track": f"{lib}/{chosen.name}",
           "library": label}
    if n <= x.shape[0] // 2:
        return _shape(x[:n], n), MusicBed(**bed)
    pts = find_loop(x, SR)
    y, seams = loop_to_length(x, n, pts, SR)
    if not seams:
        return _shape(y, n), MusicBed(**bed)
    return _shape(y, n), MusicBed(**bed, loop=(pts.head / SR, pts.tail / SR), crossfade=pts.fade / SR,
                                  seams=tuple(s / SR for s in seams), match=round(pts.match, 4))


def make_music_bed(path: Path, duration: float, mood: str, seed: int, library: Path | None = None) -> MusicBed:
    """Write a stereo 48 kHz 16-bit WAV bed of exactly ``duration`` s to ``path`` (atomically) and say what it is.

    ``library`` is a folder of ``<mood>/<track>`` files; by default the installed music package. Without it, or
    when its track cannot be read, the bed is the synthesized pad and ``MusicBed.warning`` says why.
    """
    import soundfile as sf

    duration, seed = float(duration), int(seed)
    if not (duration > 0) or duration > 3600:
        raise InputError(f"Music bed length {duration!r} s is out of range.", "use a duration between 0 and 3600 s.")
    n = round(duration * SR)
    root, label = (Path(library), os.fspath(library)) if library is not None else _library_root()
    warning = None
    if root is None:
        warning = (f"The music library {LIBRARY} is not installed, so the music bed is a synthesized pad. "
                   f"Fix: pip install {LIBRARY}==0.1.0, or set render.music to your own track.")
    else:
        try:
            data, bed = _from_library(Path(path), n, mood, seed, root, label)
        except (OSError, ValueError, sf.SoundFileError) as e:  # unreadable, empty, silent or too short to loop
            warning = (f"The music library at {root} could not be used ({' '.join(str(e).split())}), so the music "
                       f"bed is a synthesized pad. Fix: pip install --force-reinstall {LIBRARY}==0.1.0, or set "
                       "render.music to your own track.")
    if warning is not None:
        data = synth_bed(duration, mood, seed)
        bed = MusicBed(path=Path(path), source="synth", mood=mood_family(mood)[0], seconds=n / SR, warning=warning)
    with atomic_path(bed.path) as tmp:
        sf.write(os.fspath(tmp), data, SR, subtype="PCM_16", format="WAV")
    return bed


def generate_music_bed(path: Path, duration: float, mood: str, seed: int) -> Path:
    """Write the music bed to ``path`` and return it; a fallback to the synthesized pad raises a UserWarning."""
    bed = make_music_bed(path, duration, mood, seed)
    if bed.warning:
        warnings.warn(bed.warning, UserWarning, stacklevel=2)
    return bed.path
