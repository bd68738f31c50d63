"""The final cut, the music bed and the thumbnail, checked on real ffmpeg output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, ImageDraw

from storygen.errors import InputError, MediaError
from storygen.media.ffmpeg import MediaInfo, ffmpeg_exe, probe, run_ffmpeg
from storygen.media.fonts import caption_font
from storygen.media.loudness import integrated_lufs, measure_file
from storygen.media.music import generate_music_bed, mood_family
from storygen.media.render import (
    RenderJob,
    Segment,
    escape_filter_value,
    plan_timeline,
    prepare_audio,
    render,
    verify_output,
)
from storygen.media.thumbnail import make_thumbnail, pick_strongest
from storygen.workspace import cleanup_partials

FPS = 30


# ------------------------------------------------------------------ fixtures
def _still(path: Path, seed: int, size=(1200, 2000), flat: tuple | None = None) -> Path:
    rng = np.random.default_rng(seed)
    if flat is not None:
        im = Image.new("RGB", size, flat)
    else:
        y = np.linspace(0, 1, size[1])[:, None, None]
        c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        arr = np.broadcast_to(c1 * (1 - y) + c2 * y, (size[1], size[0], 3)).astype(np.uint8)
        im = Image.fromarray(np.ascontiguousarray(arr))
        d = ImageDraw.Draw(im)
        for _ in range(12):
            cx, cy, r = rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(30, 200)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.uniform(0, 255, 3)))
    im.save(path)
    return path


def _voice(path: Path, seconds: float, bursts: list[tuple[float, float]], f0: float = 180.0) -> Path:
    """A narration stand-in: harmonic 'speech' bursts with silent gaps, near -16 LUFS, 22.05 kHz mono."""
    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    env = np.zeros_like(t)
    for a, b in bursts:
        m = (t >= a) & (t < b)
        env[m] = np.sin(np.pi * (t[m] - a) / (b - a)) ** 0.3
    x = x * env
    x *= 10 ** ((-16 - integrated_lufs(x, sr)) / 20)
    sf.write(path, x.astype(np.float32), sr, subtype="PCM_16")
    return path


def _ass(path: Path, text: str = "HELLO WORLD", seconds: float = 10.0) -> Path:
    family = caption_font()[0]
    path.write_text(
        "[Script Info]\nScriptType: v4.00+\nPlayResX: 1080\nPlayResY: 1920\nScaledBorderAndShadow: yes\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: K,{family},140,&H0000E5FF,&H00FFFFFF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,8,0,2,60,60,500,1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        f"Dialogue: 0,0:00:00.00,0:00:{seconds:05.2f},K,,0,0,0,,{{\\k60}}{text.split()[0]} {{\\k200}}{' '.join(text.split()[1:])}\n",
        encoding="utf-8",
    )
    return path


def _frame(video: Path, t: float, w: int, h: int) -> np.ndarray:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3).astype(np.int16)


def _top_level_boxes(path: Path) -> list[str]:
    names, data = [], path.read_bytes()
    i = 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        names.append(data[i + 4:i + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[i + 8:i + 16], "big")
        if size < 8:
            break
        i += size
    return names


# ------------------------------------------------------------------ the full render
@pytest.fixture(scope="module")
def full_render(tmp_path_factory):
    # a folder with a space, a quote, a colon, a comma and brackets: filter-path escaping must hold
    root = tmp_path_factory.mktemp("render") / "it's a: test, [1]"
    root.mkdir()
    s1 = _still(root / "key 1.png", 1)
    s2 = _still(root / "key'2.png", 2, size=(800, 1000))  # not 9:16 and small: cover-scaled
    clip = root / "clip.mp4"  # a landscape clip at another fps: scaled, cropped, retimed
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=24:d=1.2", "-c:v", "libx264", "-preset", "ultrafast", clip])
    voice = _voice(root / "voice.wav", 3.5, [(0.2, 1.4), (1.8, 3.2)])
    music = generate_music_bed(root / "music.wav", 2.0, "eerie", seed=1)  # shorter than the voice: must loop
    ass = _ass(root / "caps: 'one'.ass")
    xf = 0.35
    segs = [
        Segment("kenburns", s1, 1.4 + xf / 2, {"zoom_from": 1.0, "zoom_to": 1.2, "x_from": 0.5, "x_to": 0.6, "y_from": 0.5, "y_to": 0.4}),
        Segment("video", clip, 1.0 + xf, {}),
        Segment("kenburns", s2, 1.1 + xf / 2, {"zoom_from": 1.15, "zoom_to": 1.0, "x_from": 0.4, "x_to": 0.5, "y_from": 0.5, "y_to": 0.5}),
    ]
    job = RenderJob(segments=segs, voice_wav=voice, ass_path=ass, fonts_dir=caption_font()[1],
                    out_path=root / "final.mp4", music=music, crossfade=xf, preset="turbo")
    progress: list[float] = []
    res = render(job, on_progress=progress.append)
    return job, res, progress


def test_render_format_and_length(full_render):
    job, res, progress = full_render
    info = probe(res.path)
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.audio_codec == "aac" and info.sample_rate == 48000
    assert info.fps == pytest.approx(FPS)
    voice = probe(job.voice_wav).duration
    assert res.frames == info.video_frames == round(voice * FPS)
    assert abs(info.video_frames / FPS - voice) <= 1 / FPS
    assert abs(res.duration - voice) <= 1 / FPS + 0.03  # container duration (audio frames are 21 ms)
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    # nothing left behind beside final.mp4
    leftovers = [p.name for p in res.path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_render_tags_faststart_and_loudness(full_render):
    job, res, _ = full_render
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(res.path)], capture_output=True, text=True).stderr
    vline = next(line for line in err.splitlines() if "Video:" in line)
    assert "yuv420p(tv, bt709" in vline  # one 'bt709' means colorspace, primaries and transfer all bt709
    assert "1080x1920" in vline and "30 fps" in vline
    boxes = _top_level_boxes(res.path)
    assert boxes.index("moov") < boxes.index("mdat")
    lufs, tp = measure_file(res.path)
    assert abs(lufs - job.loudness) <= 1.0
    assert tp <= job.true_peak
    assert res.loudness == pytest.approx(lufs) and res.true_peak == pytest.approx(tp)


def test_render_motion_crossfade_and_video_segment(full_render):
    _, res, _ = full_render
    a, b = _frame(res.path, 0.1, 1080, 1920), _frame(res.path, 1.0, 1080, 1920)
    top = slice(0, 700)  # away from the captions
    assert np.abs(a[top] - b[top]).mean() > 1.0  # the Ken Burns move changes the picture
    clip = _frame(res.path, 2.0, 1080, 1920)  # inside the video segment: testsrc2's saturated colour bars
    yellow = (clip[..., 0] > 220) & (clip[..., 1] > 220) & (clip[..., 2] < 40)
    assert yellow.mean() > 0.02
    clip2 = _frame(res.path, 2.2, 1080, 1920)  # and it plays (testsrc2 moves)
    assert np.abs(clip - clip2).mean() > 0.1
    # the crossfade from the still into the clip: a frame between two pictures
    xa, xm, xb = (_frame(res.path, t, 1080, 1920)[top] for t in (1.15, 1.40, 1.70))
    assert np.abs(xm - xa).mean() > 2 and np.abs(xm - xb).mean() > 2


def test_captions_are_burned(tmp_path):
    still = _still(tmp_path / "flat.png", 0, flat=(30, 40, 90))
    voice = _voice(tmp_path / "v.wav", 1.5, [(0.1, 1.3)])
    common = dict(segments=[Segment("kenburns", still, 1.5, {})], voice_wav=voice, fonts_dir=caption_font()[1],
                  music=None, width=540, height=960, preset="ultrafast")
    with_caps = render(RenderJob(ass_path=_ass(tmp_path / "c.ass"), out_path=tmp_path / "a.mp4", **common))
    without = render(RenderJob(ass_path=None, out_path=tmp_path / "b.mp4", **common))
    fa, fb = _frame(with_caps.path, 1.0, 540, 960), _frame(without.path, 1.0, 540, 960)
    band = slice(960 - 500 // 2 - 90, 960 - 500 // 2 + 10)  # ASS MarginV 500 at PlayResY 1920 -> 250 px here
    diff = np.abs(fa - fb).sum(axis=2)
    assert (diff[band] > 60).mean() > 0.02  # text pixels in the caption band
    assert (diff[:300] > 60).mean() < 0.001  # and nothing at the top
    assert fa[band].max() > 200  # bright (white/yellow) glyphs on a dark blue still


def test_music_is_ducked_under_the_voice(tmp_path):
    voice = _voice(tmp_path / "v.wav", 6.0, [(0.5, 2.5), (4.0, 5.5)], f0=150)
    sr = 48000
    t = np.arange(6 * sr) / sr
    tone = 0.2 * np.sin(2 * np.pi * 2500 * t)  # the 'music': a steady 2.5 kHz tone
    sf.write(tmp_path / "m.wav", np.stack([tone, tone], 1).astype(np.float32), sr)
    job = RenderJob(segments=[], voice_wav=voice, ass_path=None, fonts_dir=None, out_path=tmp_path / "x.mp4",
                    music=tmp_path / "m.wav", music_gain_db=-10.0)
    wav, passes, stats = prepare_audio(job, 6.0, tmp_path)
    assert passes == 2
    mix, msr = sf.read(wav, always_2d=True)
    assert integrated_lufs(mix, msr) == pytest.approx(-14.0, abs=0.3)

    def band_db(a: float, b: float) -> float:
        seg = mix[int(a * msr):int(b * msr), 0]
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
        f = np.fft.rfftfreq(seg.size, 1 / msr)
        return 20 * np.log10(spec[(f > 2400) & (f < 2600)].max() + 1e-12)

    during = band_db(1.0, 2.0)  # voice speaking
    gap = band_db(3.0, 3.8)  # voice silent (after the release)
    assert gap - during > 6.0, (gap, during)


def test_failed_render_leaves_no_file(tmp_path):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    voice = _voice(tmp_path / "v.wav", 1.0, [(0.1, 0.9)])
    job = RenderJob(segments=[Segment("kenburns", bad, 1.0, {})], voice_wav=voice, ass_path=None, fonts_dir=None,
                    out_path=tmp_path / "out" / "final.mp4", music=None, width=320, height=568)
    with pytest.raises(MediaError) as e:
        render(job)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out" / "final.mp4").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


# ------------------------------------------------------------------ the result is checked before it replaces final.mp4
def _small_job(tmp_path: Path, voice: Path, out: Path, **kw) -> RenderJob:
    still = _still(tmp_path / "k.png", 4, size=(400, 700))
    return RenderJob(segments=[Segment("kenburns", still, 1.0, {"zoom_from": 1.0, "zoom_to": 1.1})], voice_wav=voice,
                     ass_path=None, fonts_dir=None, out_path=out, music=None, width=270, height=480, preset="ultrafast", **kw)


def test_verify_output_wants_the_voice_length():
    job = RenderJob(segments=[], voice_wav=Path("v.wav"), ass_path=None, fonts_dir=None, out_path=Path("o.mp4"), music=None,
                    min_duration=1.0)
    good = MediaInfo(duration=3.52, has_video=True, has_audio=True, fps=30.0, video_frames=105)
    assert verify_output(good, 3.5, job, 105) == pytest.approx(3.5)
    assert verify_output(replace(good, video_frames=107), 3.5, job, 105)  # two frames off: still fine
    with pytest.raises(MediaError, match="narration lasts 3.50 s"):
        verify_output(replace(good, video_frames=108), 3.5, job, 105)  # three frames short of the plan
    with pytest.raises(MediaError, match="only 0.03 s long"):
        verify_output(replace(good, duration=0.03, video_frames=1), 3.5, job, 105)
    with pytest.raises(MediaError, match="narration lasts"):
        verify_output(replace(good, duration=9.0), 3.5, job, 105)  # the sound runs on past the picture
    with pytest.raises(MediaError, match="no sound"):
        verify_output(replace(good, has_audio=False), 3.5, job, 105)


def test_a_wrong_render_never_replaces_final_mp4(tmp_path, monkeypatch):
    import storygen.media.render as render_mod

    out = tmp_path / "story" / "final.mp4"
    out.parent.mkdir()
    out.write_bytes(b"the good video from before")
    real = render_mod.probe

    def short_result(path):  # the muxed file comes out one frame long
        info = real(path)
        return replace(info, duration=0.03, video_frames=1) if ".part" in Path(path).name else info

    monkeypatch.setattr(render_mod, "probe", short_result)
    voice = _voice(tmp_path / "v.wav", 1.5, [(0.1, 1.3)])
    with pytest.raises(MediaError, match=r"only 0\.03 s long .*narration lasts 1\.50 s"):
        render(_small_job(tmp_path, voice, out, min_duration=1.0))
    assert out.read_bytes() == b"the good video from before"
    assert [p.name for p in out.parent.iterdir()] == ["final.mp4"]


def test_damaged_or_silent_voice_is_refused(tmp_path):
    out = tmp_path / "story" / "final.mp4"
    cut = _voice(tmp_path / "cut.wav", 5.0, [(0.2, 4.8)])
    with open(cut, "r+b") as fh:  # truncate -s 1000: the header survives, 0.02 s of samples
        fh.truncate(1000)
    with pytest.raises(InputError, match="lasts only 0.02 s.*looks damaged"):
        render(_small_job(tmp_path, cut, out, min_duration=1.0))
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050 * 2, np.float32), 22050, subtype="PCM_16")
    with pytest.raises(InputError, match="silent"):
        render(_small_job(tmp_path, silent, out, min_duration=1.0, min_voice_lufs=-50.0))
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_final_stage_refuses_a_damaged_voice(tmp_path):
    from storygen.config import load_config
    from storygen.stages.base import Context, RunOptions
    from storygen.stages.final import FinalStage
    from storygen.workspace import Story

    story = Story.open_or_create(tmp_path / "story")
    voice = _voice(story.root / "voice.wav", 5.0, [(0.2, 4.8)])
    (story.root / "voice").mkdir()
    voice = voice.rename(story.root / "voice" / "voice.wav")
    with open(voice, "r+b") as fh:
        fh.truncate(1000)
    ctx = Context(story=story, cfg=load_config(env={}), options=RunOptions())
    with pytest.raises(InputError) as e:
        FinalStage().run(ctx)
    assert "only 0.02 s long" in str(e.value) and "voice file looks damaged" in str(e.value)
    assert "--from voice" in str(e.value) and isinstance(e.value, InputError)
    assert not (story.root / "final.mp4").exists()


# ------------------------------------------------------------------ killed runs
def test_render_work_folder_is_owned_and_kept_while_the_story_is_opened_again(tmp_path):
    out = tmp_path / "story" / "final.mp4"
    voice = _voice(tmp_path / "v.wav", 1.5, [(0.1, 1.3)])
    seen: list[str] = []

    def progress(f: float) -> None:
        if not seen and f < 1.0:  # mid-render: another run opens the same story and cleans up
            seen.extend(p.name for p in out.parent.iterdir() if p.name.startswith(".render-"))
            cleanup_partials(out.parent)

    res = render(_small_job(tmp_path, voice, out), on_progress=progress)
    assert len(seen) == 1 and re.match(rf"\.render-{os.getpid()}[@-]", seen[0])  # owned by this process
    assert probe(res.path).duration == pytest.approx(1.5, abs=0.1)
    assert [p.name for p in out.parent.iterdir()] == ["final.mp4"]


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_ffmpeg_dies_with_a_killed_parent():
    code = ("from storygen.media.ffmpeg import run_ffmpeg\n"
            "run_ffmpeg(['-re', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '120', '-f', 'null', '-'])\n")
    parent = subprocess.Popen([sys.executable, "-c", code])
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not kids and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            kids = _children(parent.pid)
        assert kids, "ffmpeg did not start"
        parent.send_signal(signal.SIGKILL)  # as kill -9 of `storygen make`
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_running(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(k) for k in kids), "ffmpeg kept running after its parent was killed"
    finally:
        parent.kill()
        for k in kids:
            if _running(k):
                os.kill(k, signal.SIGKILL)


def test_plan_timeline_sums_exactly():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 9))
        frames = int(rng.integers(60, 2400))
        durs = rng.uniform(0.5, 3, n)
        durs = durs / durs.sum() * (frames / FPS + (n - 1) * 0.35) * rng.uniform(0.9, 1.1)
        segs = [Segment("kenburns", Path("x.png"), float(d), {}) for d in durs]
        plan, xf = plan_timeline(segs, frames, FPS, 0.35)
        assert sum(p.frames for p in plan) - (n - 1) * xf == frames
        assert all(p.frames > xf for p in plan)
        assert plan[0].start == 0 and all(b.start == a.start + a.frames - xf for a, b in zip(plan, plan[1:]))


def test_escape_filter_value():
    assert escape_filter_value("/a b/c") == "/a b/c"
    assert escape_filter_value("a:b") == "a\\\\:b"
    assert escape_filter_value("it's") == "it\\\\\\'s"
    assert escape_filter_value("x,y[z];") == "x\\,y\\[z\\]\\;"


# ------------------------------------------------------------------ music bed
def test_music_bed_is_deterministic_and_quiet(tmp_path):
    a = generate_music_bed(tmp_path / "a.wav", 4.0, "eerie", seed=5)
    b = generate_music_bed(tmp_path / "b.wav", 4.0, "eerie", seed=5)
    c = generate_music_bed(tmp_path / "c.wav", 4.0, "eerie", seed=6)
    d = generate_music_bed(tmp_path / "d.wav", 4.0, "hopeful", seed=5)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes() and a.read_bytes() != d.read_bytes()
    x, sr = sf.read(a, always_2d=True)
    assert sr == 48000 and x.shape == (4 * 48000, 2)
    assert 0.05 < np.abs(x).max() < 0.5
    assert not np.allclose(x[:, 0], x[:, 1])  # real stereo
    assert mood_family("a sad story") == ("sad", True) and mood_family("warm")[1] is False
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ------------------------------------------------------------------ thumbnail
def test_thumbnail(tmp_path):
    ttf = caption_font()[2]
    src = Image.new("RGB", (900, 900), (120, 120, 120))
    out = make_thumbnail(src, "The Lighthouse Keeper's Bottle", tmp_path / "t.jpg", ttf)
    im = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    assert im.shape == (1920, 1080, 3)
    bare = np.asarray(Image.new("RGB", (1080, 1920), (120, 120, 120)), dtype=np.int16)
    assert (im.max(axis=2) > 235).mean() > 0.01  # white title pixels
    assert np.abs(im - bare)[: 1920 // 3].mean() < 40  # the top is only lightly shaded
    # emoji, accents and right-to-left text: no crash, still a valid JPEG
    out2 = make_thumbnail(src, "مرحبا 🌊 Café déjà vu עברית 🚀", tmp_path / "t2.jpg", ttf)
    assert Image.open(out2).size == (1080, 1920)


def test_pick_strongest(tmp_path):
    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 500), (128, 128, 128)).save(flat)
    busy = _still(tmp_path / "busy.png", 3, size=(300, 500))
    dark = tmp_path / "dark.png"
    Image.new("RGB", (300, 500), (5, 5, 5)).save(dark)
    assert pick_strongest([flat, dark, busy]) == busy
