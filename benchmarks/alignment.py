"""Word-timing accuracy against voices whose true word times are known.

Voices:
  * Piper (joe, en_US): true times are Piper's own phoneme alignments (start of the word's first
    phoneme, end of its last), from the synthesis call that made the audio.
  * espeak-ng 1.52 (espeakng-loader, ctypes, synchronous mode): true word starts are espeak's WORD
    events (audio_position, ms). espeak gives no word ends, and no event for the function words it
    merges ("in the"), so only the words with an event are scored, on starts only.

Paths:
  * ASR path: faster-whisper tiny.en (packaged) -> align_words (script alignment) -> refine_with_audio.
    Also shown: raw ASR (no lag correction, no refinement) for comparison.
  * TTS-timing path: Piper's timings carried through post-processing (trim, pause shortening, padding,
    loudness). Each word's audio is located in the processed file by cross-correlation and compared
    with where the time map put it.

Run: python benchmarks/alignment.py [--words N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from storygen.captions.align import alignment_confidence, align_words, refine_with_audio  # noqa: E402
from storygen.captions.text import script_words  # noqa: E402
from storygen.media.audio import load_mono, postprocess  # noqa: E402
from storygen.models import WordTiming  # noqa: E402
from storygen.providers.asr.faster_whisper_asr import FasterWhisperASR  # noqa: E402
from storygen.providers.voice.piper_tts import PiperVoice  # noqa: E402

STORY = (
    "In the morning, Mara was a ghost in the old house on Hollow Street. She had been there for 30 years, "
    "waiting for someone to notice the lights. Nobody did. The neighbours said the place was empty, "
    "and the postman didn't even slow down. Then, on a rainy Tuesday in October, a girl named Iris "
    "knocked on the door. She was eleven, and she wasn't afraid of anything. \"Is anyone home?\" she asked. "
    "Mara didn't answer. She couldn't. But the lamp in the hallway flickered twice, and Iris smiled. "
    "Every day after school, Iris came back with a notebook and a flashlight. She asked questions, "
    "and Mara answered with the lights: once for yes, twice for no. By December they had a whole language. "
    "Iris learned that Mara had planted the apple tree in 1994, that she loved thunderstorms, and that "
    "she missed the smell of bread. So Iris baked bread in the old oven, burning the first three loaves. "
    "The fourth one was perfect. Mara couldn't taste it, but the whole house glowed warm and gold, "
    "and for the first time in thirty years, she wasn't waiting for anyone at all."
)


def stats(err_ms: np.ndarray) -> str:
    if err_ms.size == 0:
        return "n/a"
    a = np.abs(err_ms)
    return (f"median {np.median(a):5.1f} ms  p95 {np.percentile(a, 95):5.1f} ms  max {a.max():6.1f} ms  "
            f"(mean signed {np.mean(err_ms):+5.1f} ms, n={a.size})")


def asr_path(asr: FasterWhisperASR, wav: Path, words: list[str], lag: float | None = None, refine: bool = True):
    heard = asr.transcribe(wav, language="en")
    kw = {} if lag is None else {"lag": lag}
    aligned = align_words(words, heard, **kw)
    if refine:
        aligned = refine_with_audio(aligned, wav)
    return aligned


def score(name: str, got: list[WordTiming], ref: list[tuple[int, float, float | None]]) -> dict:
    s_err, e_err = [], []
    for idx, rs, re_ in ref:
        g = got[idx]
        if not g.matched:
            continue
        s_err.append((g.start - rs) * 1000)
        if re_ is not None:
            e_err.append((g.end - re_) * 1000)
    s_err, e_err = np.array(s_err), np.array(e_err)
    share = alignment_confidence(got)
    print(f"  {name}")
    print(f"    words matched: {share * 100:5.1f}%")
    print(f"    start error: {stats(s_err)}")
    if e_err.size:
        print(f"    end error:   {stats(e_err)}")
    return {"start": s_err, "end": e_err, "matched": share}


def piper_voice(tmp: Path, text: str):
    v = PiperVoice({"length_scale": 1.0})
    wav = tmp / "piper.wav"
    sp = v.synthesize(text, wav)
    ref = [(i, w.start, w.end) for i, w in enumerate(sp.words)]
    return wav, sp.words, ref


def espeak_voice(tmp: Path, text: str):
    import espeak_words

    words = script_words(text)
    # char offset of each script word in the text espeak reads
    offsets, pos = [], 0
    for w in words:
        k = text.find(w, pos)
        offsets.append(k)
        pos = k + len(w)
    wav, events = espeak_words.write(tmp / "espeak.wav", text)
    ref = []
    for cstart, _clen, ts in events:
        # the script word that holds this character
        idx = max((i for i, o in enumerate(offsets) if o <= cstart), default=0)
        if offsets[idx] <= cstart < offsets[idx] + len(words[idx]):
            ref.append((idx, ts, None))
    return wav, words, ref


def postprocess_check(tmp: Path, wav: Path, words: list[WordTiming]) -> np.ndarray:
    """Where the time map says each word went vs where its audio really is (cross-correlation)."""
    out_words, st = postprocess(wav, tmp / "pp.wav", words)
    sr = 16000
    x = load_mono(wav, sr)
    y = load_mono(tmp / "pp.wav", sr)
    errs = []
    for w, o in zip(words, out_words):
        a, b = int(w.start * sr), int(w.end * sr)
        if b - a < int(0.08 * sr):
            continue
        snip = x[a:b]
        c = int(o.start * sr)
        lo, hi = max(0, c - int(0.2 * sr)), min(y.size, c + int(0.2 * sr) + snip.size)
        seg = y[lo:hi]
        if seg.size < snip.size:
            continue
        corr = np.correlate(seg, snip, mode="valid")
        found = lo + int(np.argmax(corr))
        errs.append((o.start - found / sr) * 1000)
    print(f"    post-processing: {st['shortened_pauses']} pauses shortened, trimmed {st['trimmed_start_seconds']} s "
          f"+ {st['trimmed_end_seconds']} s, {st['input_lufs']} -> {st['output_lufs']} LUFS")
    return np.array(errs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=0, help="use only the first N words of the story")
    args = ap.parse_args()
    text = STORY if not args.words else " ".join(STORY.split()[: args.words])
    asr = FasterWhisperASR({"asr_model": "", "compute_type": "int8", "vad_filter": False})
    print(f"ASR: faster-whisper {asr.version} {asr.model_label} ({asr.device}, {asr.compute_type})")
    results = {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for name, make in (("piper joe (en_US)", piper_voice), ("espeak-ng en-us", espeak_voice)):
            t0 = time.time()
            wav, words, ref = make(tmp, text)
            print(f"\n== {name}: {len(script_words(text))} script words, {len(ref)} reference words")
            plain = [w.word if isinstance(w, WordTiming) else w for w in words]
            raw = asr_path(asr, wav, plain, lag=0.0, refine=False)
            score("ASR raw (faster-whisper word times, script-aligned, no lag fix, no refinement)", raw, ref)
            full = asr_path(asr, wav, plain)
            results[name] = score("ASR path (alignment + lag fix + refine_with_audio)", full, ref)
            if isinstance(words[0], WordTiming):
                pp = postprocess_check(tmp, wav, words)
                print("  TTS-timing path (Piper alignments through post-processing, located by cross-correlation)")
                print(f"    start error: {stats(pp)}")
                results[name + " tts"] = {"start": pp}
            print(f"  ({time.time() - t0:.1f} s)")
    print("\nTarget: median <= 30 ms, p95 <= 80 ms")
    ok = True
    for k, r in results.items():
        for part in ("start", "end"):
            e = np.abs(r.get(part, np.array([])))
            if e.size:
                good = np.median(e) <= 30 and np.percentile(e, 95) <= 80
                ok &= bool(good)
                print(f"  {k:28s} {part:5s}: {'PASS' if good else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
