"""The final cut: stills with Ken Burns moves and video clips, crossfaded, captions burned in,
voice plus a ducked music bed, loudness-normalised, encoded ONCE into a 1080x1920 H.264/AAC mp4.

Passes (all with the ffmpeg from imageio-ffmpeg, argument lists only):

1. audio decode (fast): voice and the looped/trimmed music bed to 48 kHz float WAVs;
2. audio mix (fast): the music, gain-matched with numpy/pyloudnorm, ducked under the voice with
   ``sidechaincompress`` (music is the main input, the voice the sidechain) and mixed with the voice;
   ``media.loudness`` then sets the integrated loudness and limits the true peak;
3. the single picture pass: one ``filter_complex`` that moves each still (per-frame ``scale`` +
   ``crop`` with float expressions rounded once in output space: no integer-source-pixel zoompan
   jitter), ``xfade``s the scenes, burns the captions with libass and encodes with libx264, muxing
   the finished audio as AAC, ``+faststart``, BT.709 tags;
4. verification: integrated loudness and true peak of the final file (``media.loudness``), and its length
   (frames and container) against the narration's (``verify_output``).

The final file is written to a temp name beside ``out_path`` and renamed into place only after
the checks pass, so a killed or failed render (disk full included) never leaves a half-written
or wrong ``final.mp4``. The work files live in a ``.render-<pid>-xxxx`` folder beside it, which a
later run removes if this process was killed (``workspace.cleanup_partials``).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from storygen.config import DEFAULTS
from storygen.errors import InputError, MediaError
from storygen.media import loudness as ld
from storygen.media.ffmpeg import MediaInfo, probe, run_ffmpeg
from storygen.workspace import atomic_path, work_dir

AUDIO_RATE = 48000
_R = DEFAULTS["render"]


@dataclass(frozen=True)
class Segment:
    kind: Literal["video", "kenburns"]
    path: Path
    duration: float
    move: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RenderJob:
    segments: list[Segment]
    voice_wav: Path
    ass_path: Path | None
    fonts_dir: Path | None
    out_path: Path
    music: Path | None
    width: int = _R["width"]
    height: int = _R["height"]
    fps: int = _R["fps"]
    crossfade: float = _R["crossfade"]
    preset: str = _R["preset"]  # see X264_PRESETS; any x264 preset name works too
    crf: int = _R["crf"]
    threads: int = _R["threads"]
    loudness: float = _R["loudness"]  # integrated LUFS of the final mix
    true_peak: float = _R["true_peak"]  # dBTP ceiling of the final file (media.loudness: headroom rule)
    music_gain_db: float = _R["music_gain_db"]
    duck_ratio: float = _R["duck_ratio"]
    #: refuse a narration (and so a video) shorter than this many seconds
    min_duration: float = 0.0
    #: refuse a narration quieter than this (integrated LUFS; a silent one is -inf); None: no check
    min_voice_lufs: float | None = None


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration: float
    seconds: float
    loudness: float
    true_peak: float
    passes: int
    frames: int


# ------------------------------------------------------------------ filtergraph escaping
def escape_filter_value(value: str) -> str:
    """Escape ``value`` for use as one option value inside a ``-filter_complex`` argument.

    Two levels (see ffmpeg-filters "Notes on filtergraph escaping"): first the option parser
    (``\\``, ``'`` and ``:``), then the graph parser (``\\ ' [ ] , ;``).
    """
    lvl1 = value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    return re.sub(r"([\\'\[\],;])", r"\\\1", lvl1)


# ------------------------------------------------------------------ timeline
@dataclass(frozen=True)
class _Planned:
    seg: Segment
    frames: int  # frames this segment produces (including crossfade overlaps)
    start: int  # first frame on the final timeline


def plan_timeline(segments: list[Segment], total_frames: int, fps: int, crossfade: float) -> tuple[list[_Planned], int]:
    """Integer frame plan: each segment's frame count and start, and the crossfade length in frames.

    The sum of the segment frames minus the overlaps equals ``total_frames`` exactly; the last
    segment absorbs any difference (trimmed, or padded by cloning its last frame). When the given
    durations do not fit the voice at all, they are scaled proportionally.
    """
    n = len(segments)
    if n == 0:
        raise InputError("Nothing to render: no scenes were given.", "make sure the keyframes stage produced images.")
    if total_frames < 1:
        raise InputError("The narration is shorter than one video frame.", "use a longer voice file.")
    durs = [max(0.0, float(s.duration)) for s in segments]
    xf = max(0, round(crossfade * fps)) if n > 1 else 0
    # scale durations when their timeline length is far off the voice (more than half a second)
    timeline = sum(durs) - (n - 1) * xf / fps
    want = total_frames / fps
    if timeline <= 0 or abs(timeline - want) > 0.5:
        base = sum(durs) or n
        body = want + (n - 1) * xf / fps
        durs = [d / base * body if sum(durs) > 0 else body / n for d in durs]
    # crossfade may not eat more than a third of the shortest segment
    if n > 1:
        shortest = min(durs) * fps
        xf = max(0, min(xf, int(shortest // 3)))
    starts = []
    acc = 0.0
    for i in range(n):
        starts.append(min(total_frames - 1, round(acc * fps)) if i else 0)
        acc += durs[i] - xf / fps
    planned = []
    for i, seg in enumerate(segments):
        end = starts[i + 1] + xf if i + 1 < n else total_frames
        frames = max(1, end - starts[i])
        planned.append(_Planned(seg, frames, starts[i]))
    # a segment must outlast the crossfades that touch it, or xfade misbehaves
    if n > 1 and any(p.frames <= (2 if 0 < i < n - 1 else 1) * xf for i, p in enumerate(planned)):
        xf = 0
        return plan_timeline_no_xfade(segments, durs, total_frames, fps), 0
    return planned, xf


def plan_timeline_no_xfade(segments: list[Segment], durs: list[float], total_frames: int, fps: int) -> list[_Planned]:
    n = len(segments)
    total = sum(durs) or n
    bounds = [0]
    acc = 0.0
    for d in durs[:-1]:
        acc += d / total * total_frames
        bounds.append(min(total_frames - (n - len(bounds)), max(bounds[-1] + 1, round(acc))))
    bounds.append(total_frames)
    return [_Planned(s, bounds[i + 1] - bounds[i], bounds[i]) for i, s in enumerate(segments)]


# ------------------------------------------------------------------ Ken Burns
def _clamp01(v: float) -> float:
    return max(0.0, min(1.0, float(v)))


def _move_params(move: dict) -> tuple[float, float, float, float, float, float]:
    def g(key: str, default: float) -> float:
        try:
            v = float(move.get(key, default))
        except (TypeError, ValueError):
            v = default
        return default if math.isnan(v) or math.isinf(v) else v

    z0, z1 = max(1.0, g("zoom_from", 1.0)), max(1.0, g("zoom_to", 1.0))
    z0, z1 = min(z0, 4.0), min(z1, 4.0)
    return z0, z1, _clamp01(g("x_from", 0.5)), _clamp01(g("x_to", 0.5)), _clamp01(g("y_from", 0.5)), _clamp01(g("y_to", 0.5))


def kenburns_window(move: dict, p: float) -> tuple[float, float, float]:
    """Crop window at progress ``p`` (0..1): (left, top, size) as shares of the image; size = 1/zoom."""
    z0, z1, x0, x1, y0, y1 = _move_params(move)
    z = z0 + (z1 - z0) * p
    w = 1.0 / z
    cx = x0 + (x1 - x0) * p
    cy = y0 + (y1 - y0) * p
    return min(max(cx - w / 2, 0.0), 1 - w), min(max(cy - w / 2, 0.0), 1 - w), w


def _kenburns_filters(move: dict, frames: int, W: int, H: int, fps: int) -> str:
    """Per-frame scale (eval=frame) to W*z x H*z, then a W x H crop at the window position.

    Sizes and offsets are computed in OUTPUT pixels and rounded once, so the picture moves
    within half an output pixel of the ideal path (zoompan rounds in source pixels instead).
    Progress uses ``t`` (identical in scale and crop), not ``n`` (scale's n runs one ahead).
    ``format=yuv420p`` right after the scale matters: without it format negotiation may pick
    yuv444p for the whole chain and auto-insert a second full-frame conversion (2x the cost).
    """
    z0, z1, x0, x1, y0, y1 = _move_params(move)
    den = max(1, frames - 1)
    p = f"min(1,t*{fps}/{den})"
    z = f"({z0:.6f}+{z1 - z0:.6f}*{p})"
    wz = f"round({W}*{z})"
    hz = f"round({H}*{z})"
    left = f"max(0,min(1-1/{z},{x0:.6f}+{x1 - x0:.6f}*{p}-0.5/{z}))"
    top = f"max(0,min(1-1/{z},{y0:.6f}+{y1 - y0:.6f}*{p}-0.5/{z}))"
    if z0 == 1.0 and z1 == 1.0:
        return ""  # no move: the base frame is the output
    return (
        f",scale=w='{wz}':h='{hz}':eval=frame:flags=bilinear,format=yuv420p"
        f",crop={W}:{H}:x='min({wz}-{W},round({wz}*{left}))':y='min({hz}-{H},round({hz}*{top}))':exact=1,setsar=1"
    )


# ------------------------------------------------------------------ audio
def _read_wav(path: Path):
    import numpy as np
    import soundfile as sf

    data, sr = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data), sr


def _write_wav(path: Path, data, sr: int) -> None:
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(os.fspath(tmp), data, sr, subtype="FLOAT", format="WAV")


def prepare_audio(job: RenderJob, duration: float, work: Path) -> tuple[Path, int, dict]:
    """Make the finished audio (WAV, 48 kHz stereo) for ``job``. Returns (path, ffmpeg passes, stats)."""
    import numpy as np

    passes = 0
    voice_f = work / "voice48.wav"
    music_f = work / "music48.wav"
    dec = ["-i", job.voice_wav]
    if job.music is not None:
        dec += ["-stream_loop", "-1", "-i", job.music]
    dec += ["-map", "0:a:0", "-ac", "2", "-ar", str(AUDIO_RATE), "-c:a", "pcm_f32le", "-t", f"{duration:.6f}", voice_f]
    if job.music is not None:
        fade = min(3.0, duration / 4)
        dec += ["-map", "1:a:0", "-af", f"afade=t=in:d={min(1.0, duration / 8):.3f},afade=t=out:st={duration - fade:.3f}:d={fade:.3f}",
                "-ac", "2", "-ar", str(AUDIO_RATE), "-c:a", "pcm_f32le", "-t", f"{duration:.6f}", music_f]
    run_ffmpeg(dec, what="Decoding the narration and music")
    passes += 1
    voice, sr = _read_wav(voice_f)
    stats: dict = {"voice_lufs": ld.integrated_lufs(voice, sr)}
    if job.music is not None:
        music, _ = _read_wav(music_f)
        m_lufs = ld.integrated_lufs(music, sr)
        stats["music_lufs_in"] = m_lufs
        if ld.is_silent(m_lufs) or ld.is_silent(stats["voice_lufs"]):  # no bed, or no voice to set its level by
            mix = voice
        else:
            # bed level: music_gain_db under the narration's loudness (before ducking)
            gain_db = (stats["voice_lufs"] + job.music_gain_db) - m_lufs
            ducked = work / "ducked.wav"
            # threshold ~11 dB under the voice's RMS so speech pulls the bed down by about 10 dB at ratio 8
            thr = min(0.5, max(0.001, 10 ** ((stats["voice_lufs"] - 2 - 11.5) / 20)))
            graph = (
                f"[1:a]volume={gain_db:.3f}dB[m];[0:a]asplit=2[v][sc];"
                f"[m][sc]sidechaincompress=threshold={thr:.5f}:ratio={job.duck_ratio:.3f}:attack=25:release=450:knee=2[d];"
                f"[v][d]amix=inputs=2:duration=first:normalize=0[out]"
            )
            run_ffmpeg(["-i", voice_f, "-i", music_f, "-filter_complex", graph, "-map", "[out]",
                        "-c:a", "pcm_f32le", "-ar", str(AUDIO_RATE), ducked], what="Mixing the music under the voice")
            passes += 1
            mix, _ = _read_wav(ducked)
    else:
        mix = voice
    n = int(round(duration * sr))
    if mix.shape[0] < n:
        mix = np.concatenate([mix, np.zeros((n - mix.shape[0], mix.shape[1]), np.float32)])
    mix = mix[:n]
    norm = ld.normalise(mix, sr, job.loudness, job.true_peak)
    stats["mix_lufs"], stats["mix_true_peak"] = norm.lufs, norm.true_peak
    out = work / "final_audio.wav"
    _write_wav(out, norm.audio, sr)
    return out, passes, stats


# ------------------------------------------------------------------ the render
def _check_inputs(job: RenderJob) -> float:
    for i, s in enumerate(job.segments):
        if s.kind not in ("video", "kenburns"):
            raise InputError(f"Scene {i + 1} has an unknown kind '{s.kind}'.", "use 'video' or 'kenburns'.")
        if not Path(s.path).is_file():
            raise InputError(f"Scene {i + 1}'s file '{s.path}' does not exist.", "re-run the keyframes/clips stage.")
    if not Path(job.voice_wav).is_file():
        raise InputError(f"The narration '{job.voice_wav}' does not exist.", "re-run the voice stage.")
    if job.ass_path is not None and not Path(job.ass_path).is_file():
        raise InputError(f"The captions file '{job.ass_path}' does not exist.", "re-run the captions stage.")
    if job.music is not None and not Path(job.music).is_file():
        raise InputError(f"The music file '{job.music}' does not exist.", "set render.music to an existing audio file, or 'none'.")
    if job.width % 2 or job.height % 2 or job.width < 16 or job.height < 16:
        raise InputError(f"Bad output size {job.width}x{job.height}.", "use even sizes such as 1080x1920.")
    info = probe(job.voice_wav)
    if not info.has_audio or info.duration <= 0:
        raise InputError(f"The narration '{job.voice_wav}' has no audio.", "pass a WAV with the spoken narration.")
    if info.duration < job.min_duration:
        raise InputError(f"The narration '{job.voice_wav}' lasts only {info.duration:.2f} s, too short for a video "
                         f"(at least {job.min_duration:g} s): the file looks damaged or cut short.",
                         "re-make the voice, or replace the file with the complete narration.")
    return info.duration


def verify_output(info: MediaInfo, voice_seconds: float, job: RenderJob, total_frames: int) -> float:
    """Check a rendered file against the narration; return its picture length in seconds.

    The picture must hold the planned frames (the narration's length, to the frame) and the file as
    a whole must last as long as the narration, within two frames plus AAC framing.
    """
    if not info.has_video or not info.has_audio:
        raise MediaError("The rendered video has no " + ("picture." if not info.has_video else "sound."),
                         "run the same command again; finished stages are kept.")
    frame = 1.0 / job.fps
    picture = info.video_frames * frame if info.video_frames else info.duration
    if picture < job.min_duration:
        raise MediaError(f"The final video is only {picture:.2f} s long (the narration lasts {voice_seconds:.2f} s).",
                         "run the same command again; if it happens again, re-make the voice.")
    tolerance = 2 * frame + 1e-6
    off_picture = abs(picture - total_frames * frame) > tolerance or abs(picture - voice_seconds) > tolerance
    if off_picture or abs(info.duration - voice_seconds) > tolerance + 0.05:
        raise MediaError(f"The final video lasts {picture:.2f} s (file {info.duration:.2f} s) but the narration lasts "
                         f"{voice_seconds:.2f} s: the render went wrong.",
                         "run the same command again; if it happens again, re-make the voice.")
    return picture


#: our own x264 preset names -> (x264 preset, extra x264-params)
X264_PRESETS = {
    # ultrafast plus CABAC, the 8x8 transform and the deblocking filter: about 2.5x cheaper than
    # veryfast on Ken Burns footage at the same CRF (SSIM 0.998), files ~15% smaller than ultrafast.
    "turbo": ("ultrafast", "cabac=1:8x8dct=1:deblock=0,0:partitions=i8x8,i4x4"),
}


def _x264_opts(job: RenderJob) -> list[str]:
    preset, params = X264_PRESETS.get(job.preset, (job.preset, ""))
    opts = ["-c:v", "libx264", "-preset", preset, "-crf", str(job.crf), "-pix_fmt", "yuv420p",
            "-profile:v", "high", "-g", str(job.fps * 4)]
    if params:
        opts += ["-x264-params", params]
    if job.threads:
        opts += ["-threads", str(job.threads)]
    return opts


def _join_segments(chains: list[str], plan: list[_Planned], xf: int, fps: int) -> str:
    """Append the graph that joins the segment streams ``[s0] [s1] ...``; return the joined label.

    ``xfade`` costs a full-frame blend on EVERY frame it passes (about 3 ms at 1080x1920), not just
    during the transition. So each segment is split into head / body / tail with ``trim``; only the
    short tail+head pairs go through ``xfade`` and everything is joined with ``concat``.
    """
    n = len(plan)
    if n == 1:
        return "s0"
    if xf == 0:
        chains.append("".join(f"[s{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0,settb=1/{fps},setpts=N[joined]")
        return "joined"
    pieces: list[str] = []
    for i, p in enumerate(plan):
        has_head, has_tail = i > 0, i < n - 1
        outs = ["b"] + (["h"] if has_head else []) + (["t"] if has_tail else [])
        chains.append(f"[s{i}]split={len(outs)}" + "".join(f"[s{i}{o}]" for o in outs))
        b0, b1 = (xf if has_head else 0), (p.frames - xf if has_tail else p.frames)
        chains.append(f"[s{i}b]trim=start_frame={b0}:end_frame={b1},setpts=PTS-STARTPTS[s{i}body]")
        if has_head:
            chains.append(f"[s{i}h]trim=end_frame={xf},setpts=PTS-STARTPTS[s{i}head]")
        if has_tail:
            chains.append(f"[s{i}t]trim=start_frame={p.frames - xf},setpts=PTS-STARTPTS[s{i}tail]")
    for i in range(n):
        pieces.append(f"[s{i}body]")
        if i < n - 1:
            chains.append(f"[s{i}tail][s{i + 1}head]xfade=transition=fade:duration={xf / fps:.6f}:offset=0,format=yuv420p[t{i}]")
            pieces.append(f"[t{i}]")
    chains.append("".join(pieces) + f"concat=n={len(pieces)}:v=1:a=0,settb=1/{fps},setpts=N[joined]")
    return "joined"


def build_video_args(job: RenderJob, plan: list[_Planned], xf: int, total_frames: int, audio_wav: Path | None,
                     out: Path) -> list[str]:
    """The one picture pass. With ``audio_wav`` None it writes the picture alone (muxed later)."""
    W, H, fps = job.width, job.height, job.fps
    args: list[str] = []
    chains: list[str] = []
    for i, p in enumerate(plan):
        cover = (f"scale={W}:{H}:force_original_aspect_ratio=increase:flags=bicubic:out_color_matrix=bt709:out_range=tv,"
                 f"crop={W}:{H},setsar=1,format=yuv420p")
        if p.seg.kind == "kenburns":
            args += ["-framerate", str(fps), "-i", p.seg.path]
            chains.append(
                f"[{i}:v]{cover},loop=loop={p.frames - 1}:size=1,settb=1/{fps},setpts=N"
                f"{_kenburns_filters(p.seg.move, p.frames, W, H, fps)}[s{i}]"
            )
        else:
            args += ["-i", p.seg.path]
            chains.append(
                f"[{i}:v]fps={fps},{cover},tpad=stop_mode=clone:stop={p.frames},trim=end_frame={p.frames},"
                f"settb=1/{fps},setpts=N[s{i}]"
            )
    a_idx = len(plan)
    if audio_wav is not None:
        args += ["-i", audio_wav]
    last = _join_segments(chains, plan, xf, fps)
    post = []
    if job.ass_path is not None:
        ass = f"ass=filename={escape_filter_value(os.fspath(job.ass_path))}"
        if job.fonts_dir is not None:
            ass += f":fontsdir={escape_filter_value(os.fspath(job.fonts_dir))}"
        post.append(ass)
    post.append("setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709")
    post.append("format=yuv420p")
    chains.append(f"[{last}]{','.join(post)}[vout]")
    graph = ";".join(chains)
    args += ["-filter_complex", graph, "-map", "[vout]"]
    args += ["-map", f"{a_idx}:a:0"] if audio_wav is not None else ["-an"]
    args += _x264_opts(job)
    args += ["-r", str(fps), "-fps_mode", "cfr", "-frames:v", str(total_frames),
             "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
             *(["-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE)] if audio_wav is not None else []),
             "-movflags", "+faststart", "-f", "mp4", out]
    return args


def render(job: RenderJob, on_progress: Callable[[float], None] | None = None) -> RenderResult:
    """Render ``job`` to ``job.out_path`` (atomically). See the module docstring for the passes."""
    t0 = time.perf_counter()
    duration = _check_inputs(job)
    total_frames = max(1, round(duration * job.fps))
    plan, xf = plan_timeline(list(job.segments), total_frames, job.fps, job.crossfade)
    out_path = Path(job.out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    passes = 0
    with work_dir(out_path.parent, ".render-") as work:
        # the audio passes (decode, duck, mix, loudness) run while ffmpeg encodes the picture
        with ThreadPoolExecutor(max_workers=1) as pool:
            audio = pool.submit(prepare_audio, job, duration, work)
            picture = work / "picture.mp4"
            run_ffmpeg(build_video_args(job, plan, xf, total_frames, None, picture), what="Rendering the final video",
                       duration=duration, on_progress=(lambda f: on_progress(0.9 * f)) if on_progress else None)
            passes += 1
            audio_wav, n, stats = audio.result()
            passes += n
        if job.min_voice_lufs is not None and stats["voice_lufs"] < job.min_voice_lufs:
            level = "no measurable loudness" if ld.is_silent(stats["voice_lufs"]) else f"{stats['voice_lufs']:.0f} LUFS"
            raise InputError(f"The narration '{job.voice_wav}' is silent ({level}): the file looks damaged.",
                             "re-make the voice, or replace the file with the spoken narration.")
        with atomic_path(out_path) as part:
            run_ffmpeg(["-i", picture, "-i", audio_wav, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                        "-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE), "-movflags", "+faststart", "-f", "mp4", part],
                       what="Muxing the final video")
            passes += 1
            lufs, tp = ld.measure_file(part, AUDIO_RATE)
            passes += 1
            info = probe(part)
            verify_output(info, duration, job, total_frames)  # a wrong file never replaces final.mp4
    if on_progress:
        on_progress(1.0)
    return RenderResult(path=out_path, duration=info.duration, seconds=time.perf_counter() - t0,
                        loudness=lufs, true_peak=tp, passes=passes, frames=total_frames)
