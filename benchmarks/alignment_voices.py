"""Caption alignment on voices storygen did not make: speech engines that are neither Piper nor espeak-ng.

The product's path for ``--voice FILE`` (the captions stage with no voice timings): faster-whisper
(the packaged tiny.en) -> ``align_to_audio`` (script alignment, pause refinement, espeak-ng reference DTW).
The truth is each engine's own word times, from the same synthesis that made the audio:

  * flite 2.2 (CMU clustergen voices, libflite through ctypes): the Word relation's first segment start
    (``R:SylStructure.daughter1.daughter1.R:Segment.p.end``) and last segment end.
  * festival 2.5 (the kal diphone voice and the slt HTS voice): the same features, dumped by a Scheme script.

Tuning uses ONE voice (``TUNE``: flite rms). Everything else is held out; festival, a different engine,
is reported separately as the held-out engine.

The engines' times are checked against their audio first (``verify``): after every pause the word's
acoustic onset (energy rise) is compared with the engine's start.

Debian packages (only this benchmark and its test need them; the product never does):
    apt-get install flite festival festvox-kallpc16k festvox-us-slt-hts

Run: python benchmarks/alignment_voices.py [--voices flite-rms,festival-kal] [--words N]
"""

from __future__ import annotations

import argparse
import ctypes
import difflib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from alignment_common import STORY, stats  # noqa: E402
from storygen.text.words import normalise_word, script_words  # noqa: E402


INSTALL = "apt-get install flite festival festvox-kallpc16k festvox-us-slt-hts"
TUNE = "flite-rms"
VOICES = {  # name -> (engine, engine voice)
    "flite-rms": ("flite", "rms"),
    "flite-slt": ("flite", "slt"),
    "festival-kal": ("festival", "voice_kal_diphone"),
    "festival-slt-hts": ("festival", "voice_cmu_us_slt_arctic_hts"),
}
_LIBDIR = Path("/usr/lib/x86_64-linux-gnu")


# ---------------------------------------------------------------- engines
def available(name: str) -> str | None:
    """None when the voice can be synthesised here, else what to install."""
    engine, voice = VOICES[name]
    if engine == "flite":
        ok = (_LIBDIR / "libflite.so.1").exists() and (_LIBDIR / f"libflite_cmu_us_{voice}.so.1").exists()
        return None if ok else "apt-get install flite"
    if shutil.which("festival") is None:
        return "apt-get install festival " + ("festvox-kallpc16k" if "kal" in voice else "festvox-us-slt-hts")
    d = "kal_diphone" if "kal" in voice else "cmu_us_slt_arctic_hts"
    if not list(Path("/usr/share/festival/voices").glob(f"*/{d}")):
        return "apt-get install " + ("festvox-kallpc16k" if "kal" in voice else "festvox-us-slt-hts")
    return None


class _Wave(ctypes.Structure):
    _fields_ = [("type", ctypes.c_char_p), ("sample_rate", ctypes.c_int), ("num_samples", ctypes.c_int),
                ("num_channels", ctypes.c_int), ("samples", ctypes.POINTER(ctypes.c_short))]


def flite(text: str, voice: str = "rms") -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    """(audio, sample rate, [(token, word start, word end)]) from libflite; a token read as several words
    ("30" -> "thirty", "1994" -> three words) appears once per word."""
    g = ctypes.RTLD_GLOBAL
    fl = ctypes.CDLL(str(_LIBDIR / "libflite.so.1"), mode=g)
    ctypes.CDLL(str(_LIBDIR / "libflite_usenglish.so.1"), mode=g)
    ctypes.CDLL(str(_LIBDIR / "libflite_cmulex.so.1"), mode=g)
    vl = ctypes.CDLL(str(_LIBDIR / f"libflite_cmu_us_{voice}.so.1"), mode=g)
    fl.flite_init()
    reg = getattr(vl, f"register_cmu_us_{voice}")
    reg.restype = ctypes.c_void_p
    v = reg(None)
    fl.flite_synth_text.restype = ctypes.c_void_p
    fl.flite_synth_text.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    fl.utt_wave.restype = ctypes.POINTER(_Wave)
    fl.utt_wave.argtypes = [ctypes.c_void_p]
    fl.utt_relation.restype = ctypes.c_void_p
    fl.utt_relation.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fl.relation_head.restype = ctypes.c_void_p
    fl.relation_head.argtypes = [ctypes.c_void_p]
    fl.item_next.restype = ctypes.c_void_p
    fl.item_next.argtypes = [ctypes.c_void_p]
    fl.ffeature_float.restype = ctypes.c_float
    fl.ffeature_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fl.ffeature_string.restype = ctypes.c_char_p
    fl.ffeature_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fl.delete_utterance.argtypes = [ctypes.c_void_p]
    utt = fl.flite_synth_text(text.encode("utf-8"), v)
    w = fl.utt_wave(utt).contents
    audio = np.ctypeslib.as_array(w.samples, shape=(w.num_samples * w.num_channels,)).astype(np.float32) / 32768.0
    audio = audio.reshape(-1, w.num_channels).mean(axis=1) if w.num_channels > 1 else audio
    sr = int(w.sample_rate)
    words = []
    it = fl.relation_head(fl.utt_relation(utt, b"Word"))
    while it:
        tok = fl.ffeature_string(it, b"R:Token.parent.name").decode("utf-8", "replace")
        s = float(fl.ffeature_float(it, b"R:SylStructure.daughter1.daughter1.R:Segment.p.end"))
        e = float(fl.ffeature_float(it, b"R:SylStructure.daughtern.daughtern.end"))
        words.append((tok, s, e))
        it = fl.item_next(it)
    fl.delete_utterance(utt)
    return audio, sr, words


def festival(text: str, voice: str = "voice_kal_diphone") -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    """Same as ``flite``, from the festival binary and a Scheme script that dumps the Word relation."""
    import soundfile as sf

    with tempfile.TemporaryDirectory() as td:
        wav = Path(td) / "f.wav"
        esc = text.replace("\\", "\\\\").replace('"', '\\"')
        scm = Path(td) / "say.scm"
        scm.write_text(
            f"({voice})\n(set! utt (Utterance Text \"{esc}\"))\n(utt.synth utt)\n"
            f"(utt.save.wave utt \"{wav}\" 'riff)\n"
            "(mapcar (lambda (w) (format t \"W\\t%s\\t%f\\t%f\\n\" (item.feat w \"R:Token.parent.name\") "
            "(item.feat w \"R:SylStructure.daughter1.daughter1.segment_start\") "
            "(item.feat w \"R:SylStructure.daughtern.daughtern.end\"))) (utt.relation.items utt 'Word))\n",
            encoding="utf-8")
        out = subprocess.run(["festival", "-b", str(scm)], capture_output=True, text=True, timeout=300)
        if out.returncode != 0 or not wav.exists():
            raise RuntimeError(f"festival failed: {out.stderr[-300:]}")
        audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    words = []
    for line in out.stdout.splitlines():
        p = line.split("\t")
        if len(p) == 4 and p[0] == "W":
            words.append((p[1], float(p[2]), float(p[3])))
    return audio.mean(axis=1), int(sr), words


def synthesize(name: str, text: str) -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    engine, voice = VOICES[name]
    return flite(text, voice) if engine == "flite" else festival(text, voice)


# ---------------------------------------------------------------- truth
def truth_for(words: list[str], engine_words: list[tuple[str, float, float]]) -> dict[int, tuple[float, float]]:
    """Script word index -> (start, end) from the engine's words, matched through their tokens in order.

    Consecutive engine words of one token (a number read as several words) become one script word.
    Script words whose token the engine split or joined differently are left out (not scored)."""
    groups: list[tuple[str, float, float]] = []
    for tok, s, e in engine_words:
        if groups and groups[-1][0] == tok and e >= groups[-1][2] and _same_token_run(engine_words, tok):
            groups[-1] = (tok, groups[-1][1], e)
        else:
            groups.append((tok, s, e))
    a = [normalise_word(w).replace(" ", "") for w in words]
    b = [normalise_word(t).replace(" ", "") for t, _, _ in groups]
    out: dict[int, tuple[float, float]] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                out[i1 + k] = (groups[j1 + k][1], groups[j1 + k][2])
    return out


def _same_token_run(engine_words, tok: str) -> bool:
    # a token that is a number (or has digits) is read as several words; two equal plain tokens in a row
    # ("that that") stay two words
    return any(c.isdigit() for c in tok)


def onset_check(audio: np.ndarray, sr: int, truth: dict[int, tuple[float, float]], *, pause: float = 0.12) -> np.ndarray:
    """Engine start minus the acoustic onset (ms) of each word that follows a pause of at least ``pause`` s.
    The onset: the first 5 ms frame after the silence that is within 30 dB of the loudest frames."""
    hop = int(0.005 * sr)
    n = audio.size // hop
    db = 10 * np.log10(np.mean(audio[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    thr = np.percentile(db, 95) - 30.0
    speech = db > thr
    out = []
    for idx in sorted(truth):
        s = truth[idx][0]
        a, b = int((s - pause) / 0.005), int(s / 0.005)
        if a < 0 or speech[max(0, a): max(0, b - 4)].any():
            continue
        k = b - 4
        while k < n and not speech[k]:
            k += 1
        out.append((s - k * 0.005) * 1000)
    return np.array(out)


# ---------------------------------------------------------------- the product's path
def product_path(asr, wav: Path, text: str, language: str = "en"):
    from storygen.captions.align import align_to_audio, asr_prompt

    heard = asr.transcribe(wav, language=language, prompt=asr_prompt(text, language))  # as the captions stage does
    return align_to_audio(text, heard, wav, language=language), heard


def errors(got, truth: dict[int, tuple[float, float]]) -> np.ndarray:
    return np.array([(got[i].start - s) * 1000 for i, (s, _e) in truth.items() if got[i].matched])


def run_voice(asr, name: str, text: str, tmp: Path, *, show_worst: int = 0) -> np.ndarray:
    import soundfile as sf

    audio, sr, ew = synthesize(name, text)
    wav = tmp / f"{name}.wav"
    sf.write(str(wav), audio, sr, subtype="PCM_16")
    words = script_words(text)
    truth = truth_for(words, ew)
    chk = onset_check(audio, sr, truth)
    t0 = time.time()
    got, _heard = product_path(asr, wav, text)
    e = errors(got, truth)
    print(f"  {name:18s} {stats(e, over_ms=80)}   [{time.time() - t0:.1f} s; {len(truth)}/{len(words)} words with truth; "
          f"engine start - onset after pauses: median {np.median(chk) if chk.size else float('nan'):+.0f} ms, n={chk.size}]")
    if show_worst:
        ks = [i for i in truth if got[i].matched]
        order = np.argsort(-np.abs(e))[:show_worst]
        print("    worst: " + ", ".join(f"{words[ks[k]]}({e[k]:+.0f})" for k in order))
    return e


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voices", default=",".join(VOICES))
    ap.add_argument("--words", type=int, default=0)
    ap.add_argument("--worst", type=int, default=0, help="print the N worst words per voice")
    args = ap.parse_args()
    text = STORY if not args.words else " ".join(STORY.split()[: args.words])
    from storygen.providers.asr.faster_whisper_asr import FasterWhisperASR

    asr = FasterWhisperASR({"asr_model": "", "compute_type": "int8", "vad_filter": False})
    print(f"ASR: faster-whisper {asr.version} {asr.model_label}; {len(script_words(text))} script words; "
          f"tuned on {TUNE} only")
    res: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as td:
        for name in args.voices.split(","):
            miss = available(name)
            if miss:
                print(f"  {name:18s} skipped: not installed ({miss})")
                continue
            res[name] = run_voice(asr, name, text, Path(td), show_worst=args.worst)
    print("\nTarget: median <= 30 ms, p95 <= 80 ms on each voice")
    ok = True
    for group, names in (("tuning voice", [TUNE]), ("held out, same engine", [n for n in res if n != TUNE and n.startswith("flite")]),
                         ("held-out engine (festival)", [n for n in res if n.startswith("festival")])):
        for n in names:
            if n not in res:
                continue
            a = np.abs(res[n])
            good = bool(np.median(a) <= 30 and np.percentile(a, 95) <= 80)
            ok &= good
            print(f"  {group:28s} {n:18s} {'PASS' if good else 'MISS'}  median {np.median(a):5.1f}  p95 {np.percentile(a, 95):5.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
