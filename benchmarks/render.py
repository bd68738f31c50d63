"""Benchmark the final cut: a 60 s, 6-scene, 1080x1920 video with karaoke captions and a music bed.

Everything is made here from fixed inputs (deterministic): a 60 s speech-like narration with pauses,
6 keyframes (gradients and shapes), ~150 word timings turned into a karaoke ASS file, and the
generated music bed. Then ``storygen.media.render.render`` composes the video and this prints the
wall time, the ratio to real time, peak memory (this process and the ffmpeg children) and loudness.

    python benchmarks/render.py [--seconds 60] [--preset veryfast] [--keep DIR] [--frames]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from storygen.media.fonts import caption_font
from storygen.media.music import generate_music_bed
from storygen.media.render import RenderJob, Segment, render

SR = 22050
WORDS = ("the old keeper climbed the stairs each night to light the lamp above the restless sea and "
         "one stormy evening a green bottle rolled onto the rocks with a folded letter inside it the "
         "ink had faded but the words were clear someone was waiting on the other side of the water").split()


def make_voice(path: Path, seconds: float, seed: int = 1) -> list[tuple[str, float, float]]:
    """Speech-like audio: voiced 'syllables' (harmonics + formant-ish noise) per word, pauses between
    sentences; returns the word timings (word, start, end). Normalised near -16 LUFS, padded 0.3 s."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    pad = 0.3
    t, words, i = pad, [], 0
    while t < seconds - pad - 0.6:
        w = WORDS[i % len(WORDS)]
        dur = 0.16 + 0.045 * len(w) + rng.uniform(-0.03, 0.05)
        words.append((w, t, min(t + dur, seconds - pad)))
        t += dur + rng.uniform(0.04, 0.1)
        i += 1
        if i % 11 == 0:
            t += 0.45  # sentence pause
    n = int(seconds * SR)
    x = np.zeros(n, np.float32)
    tt = np.arange(n) / SR
    f0 = 120 + 25 * np.sin(2 * np.pi * 0.3 * tt)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)).astype(np.float32)
    noise = rng.standard_normal(n).astype(np.float32) * 0.15
    env = np.zeros(n, np.float32)
    for _, s, e in words:
        a, b = int(s * SR), int(e * SR)
        env[a:b] = np.sin(np.linspace(0, np.pi, b - a)) ** 0.5
    x = (voiced + noise) * env
    import pyloudnorm as pyln

    lufs = pyln.Meter(SR).integrated_loudness(x.astype(np.float64))
    x *= 10 ** ((-16 - lufs) / 20)
    sf.write(str(path), x, SR, subtype="PCM_16")
    return words


def _ts(t: float) -> str:
    cs = int(round(t * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def make_ass(path: Path, words: list[tuple[str, float, float]], family: str, per_line: int = 4) -> None:
    """Karaoke ASS: lines of a few words; the spoken word switches to the highlight colour (\\k)."""
    head = f"""[Script Info]
ScriptType: v4.00+
PlayResX: 1080
PlayResY: 1920
WrapStyle: 0
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Karaoke,{family},92,&H0000E5FF,&H00FFFFFF,&H00000000,&H96000000,0,0,0,0,100,100,1,0,1,7,3,2,90,90,560,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
    lines = []
    for i in range(0, len(words), per_line):
        chunk = words[i:i + per_line]
        start, end = chunk[0][1], chunk[-1][2]
        parts, cur = [], start
        for w, s, e in chunk:
            parts.append(f"{{\\k{max(0, round((s - cur) * 100))}}}")  # gap before the word
            parts.append(f"{{\\k{max(1, round((e - s) * 100))}}}{w.upper()} ")
            cur = e
        lines.append(f"Dialogue: 0,{_ts(start)},{_ts(end + 0.05)},Karaoke,,0,0,0,,{''.join(parts).strip()}")
    path.write_text(head + "\n".join(lines) + "\n", encoding="utf-8")


def make_keyframes(folder: Path, n: int = 6, seed: int = 7) -> list[Path]:
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    out = []
    W, H = 1080, 1920
    yy = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    xx = np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    for i in range(n):
        c1, c2, c3 = (rng.uniform(0, 255, 3).astype(np.float32) for _ in range(3))
        arr = c1 * (1 - yy) + c2 * yy + (c3 - 128) * 0.3 * np.sin(6 * xx + 3 * yy + i)
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(18):  # hills, moons, towers
            cx, cy, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(40, 260)
            col = tuple(int(v) for v in rng.uniform(0, 255, 3))
            if rng.random() < 0.5:
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
            else:
                d.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=col)
        im = im.filter(ImageFilter.GaussianBlur(1.2))
        p = folder / f"key{i}.png"
        im.save(p)
        out.append(p)
    return out


MOVES = [
    {"zoom_from": 1.0, "zoom_to": 1.15, "x_from": 0.5, "x_to": 0.5, "y_from": 0.5, "y_to": 0.45},
    {"zoom_from": 1.15, "zoom_to": 1.0, "x_from": 0.45, "x_to": 0.55, "y_from": 0.5, "y_to": 0.5},
    {"zoom_from": 1.1, "zoom_to": 1.1, "x_from": 0.4, "x_to": 0.6, "y_from": 0.5, "y_to": 0.5},
    {"zoom_from": 1.05, "zoom_to": 1.2, "x_from": 0.5, "x_to": 0.45, "y_from": 0.55, "y_to": 0.5},
    {"zoom_from": 1.1, "zoom_to": 1.1, "x_from": 0.5, "x_to": 0.5, "y_from": 0.6, "y_to": 0.4},
    {"zoom_from": 1.2, "zoom_to": 1.02, "x_from": 0.5, "x_to": 0.5, "y_from": 0.5, "y_to": 0.5},
]


class _RssSampler(threading.Thread):
    """Peak RSS of this process plus all its children, sampled every 50 ms with psutil."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop.is_set():
            try:
                total = me.memory_info().rss
                for c in me.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self.stop.wait(0.05)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--preset", default=None, help="x264 preset (default: RenderJob's)")
    ap.add_argument("--crf", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-music", action="store_true")
    ap.add_argument("--no-captions", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs and output in this folder")
    ap.add_argument("--frames", action="store_true", help="also write a few PNG frames of the output (with --keep)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t_in = time.perf_counter()
        words = make_voice(work / "voice.wav", a.seconds)
        family, fonts_dir, _ttf = caption_font()
        make_ass(work / "captions.ass", words, family)
        keys = make_keyframes(work)
        music = None if a.no_music else generate_music_bed(work / "music.wav", a.seconds, "eerie", seed=3)
        t_in = time.perf_counter() - t_in
        n, xf = len(keys), 0.35
        seg = (a.seconds + (n - 1) * xf) / n
        segs = [Segment("kenburns", k, seg, MOVES[i % len(MOVES)]) for i, k in enumerate(keys)]
        kw = {k: v for k, v in (("preset", a.preset), ("crf", a.crf), ("threads", a.threads)) if v is not None}
        job = RenderJob(segments=segs, voice_wav=work / "voice.wav",
                        ass_path=None if a.no_captions else work / "captions.ass", fonts_dir=fonts_dir,
                        out_path=work / "final.mp4", music=music, crossfade=xf, **kw)
        sampler = _RssSampler()
        sampler.start()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        s0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        res = render(job)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        s1 = resource.getrusage(resource.RUSAGE_SELF)
        sampler.stop.set()
        sampler.join()
        cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) + (s1.ru_utime - s0.ru_utime + s1.ru_stime - s0.ru_stime)
        child_max = r1.ru_maxrss * 1024  # the largest single child (ffmpeg), bytes
        peak = max(sampler.peak, child_max + s1.ru_maxrss * 1024 if sampler.peak == 0 else sampler.peak)
        size = res.path.stat().st_size
        if a.keep and a.frames:
            from storygen.media.ffmpeg import run_ffmpeg

            for t in (1.0, seg - xf / 2, a.seconds / 2, a.seconds - 1):
                run_ffmpeg(["-ss", f"{t:.3f}", "-i", res.path, "-frames:v", "1", work / f"frame_{t:06.2f}.png"])
        out = {
            "load_avg_1min": round(__import__("os").getloadavg()[0], 2),
            "video_seconds": round(res.duration, 3), "frames": res.frames, "wall_s": round(wall, 2),
            "x_realtime": round(res.duration / wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(peak / 2**20, 1), "largest_child_rss_mb": round(child_max / 2**20, 1),
            "loudness_lufs": res.loudness, "true_peak_dbtp": res.true_peak, "passes": res.passes,
            "size_mb": round(size / 1e6, 2), "preset": job.preset, "crf": job.crf, "threads": job.threads,
            "inputs_s": round(t_in, 2),
        }
        if a.json:
            print(json.dumps(out))
        else:
            for k, v in out.items():
                print(f"{k:>22}: {v}")
        out_ok = wall <= a.seconds / 4 and peak <= 2**30
        if not a.json:
            print(f"{'target (>=4x, <=1 GB)':>22}: {'met' if out_ok else 'NOT met'}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
