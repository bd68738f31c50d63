"""Script words to heard words: one timing per script word from a list of recognised (or synthesised) words.

1. Both sides are expanded into matching tokens (``normalise_word``: "30" -> "thirty", "don't" -> "do not";
   single characters in scripts written without spaces, such as Japanese and Thai).
2. ``difflib`` finds the exact-token skeleton; the gaps between exact runs are aligned by a small
   Needleman-Wunsch with fuzzy similarity (ASR misspellings, split or joined words).
3. Every script word gets a time: matched words from their heard words, unmatched words interpolated
   between matched neighbours (by length) and flagged ``matched=False`` with a low confidence.

Used by the caption aligner (ASR words) and by voices that report their own timings in another unit
(ElevenLabs' characters). Refining the times against the audio is the captions package's job.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np

from storygen.models import HeardWord, WordTiming
from storygen.text.language import base
from storygen.text.words import normalise_word

UNMATCHED_CONFIDENCE = 0.25
# faster-whisper's word times (cross-attention DTW, 20 ms steps) come late by a near-constant amount.
# Measured with benchmarks/alignment.py on tiny.en over Piper and espeak-ng speech.
DEFAULT_LAG = 0.050


# scripts written without spaces (kana, Han, Thai, Lao, Khmer, Myanmar): a caption "word" there is a phrase
# and the ASR's words are a few characters each, so both sides are matched character by character
_NO_SPACE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


def _tokens(words: Sequence[str], language: str = "") -> tuple[list[str], list[int]]:
    if language and base(language) == "ja":  # matched as kana: a kana script against an ASR transcript in kanji
        from storygen.text.kana import reading_chars

        chars, owners = reading_chars([normalise_word(w) for w in words])
        keep = [k for k, c in enumerate(chars) if c.isalnum()]
        return [chars[k] for k in keep], [owners[k] for k in keep]
    toks, owner = [], []
    for i, w in enumerate(words):
        for t in normalise_word(w).split():
            for piece in (list(t) if _NO_SPACE.search(t) else [t]):
                toks.append(piece)
                owner.append(i)
    return toks, owner


def _sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    r = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    # a shared prefix counts for a lot with ASR spelling slips ("maras" / "mara", "colour" / "color")
    if a[:3] == b[:3] and min(len(a), len(b)) >= 3:
        r = max(r, 0.75)
    return r


def _nw(a: list[str], b: list[str], thr: float = 0.6) -> list[tuple[int, int, float]]:
    """Needleman-Wunsch over two short token lists; returns matched (i, j, similarity) pairs."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    if n * m > 250_000:  # a huge unmatched block: pair proportionally, no fuzzy search
        return [(i, min(m - 1, i * m // n), _sim(a[i], b[min(m - 1, i * m // n)])) for i in range(n)
                if _sim(a[i], b[min(m - 1, i * m // n)]) >= thr]
    gap = -0.4
    sim = np.array([[_sim(x, y) for y in b] for x in a])
    score = np.where(sim >= thr, sim * 2.0, -0.6)
    dp = np.zeros((n + 1, m + 1))
    dp[:, 0] = gap * np.arange(n + 1)
    dp[0, :] = gap * np.arange(m + 1)
    bt = np.zeros((n + 1, m + 1), np.int8)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            opts = (dp[i - 1, j - 1] + score[i - 1, j - 1], dp[i - 1, j] + gap, dp[i, j - 1] + gap)
            k = int(np.argmax(opts))
            dp[i, j], bt[i, j] = opts[k], k
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        k = bt[i, j]
        if k == 0:
            if sim[i - 1, j - 1] >= thr:
                pairs.append((i - 1, j - 1, float(sim[i - 1, j - 1])))
            i, j = i - 1, j - 1
        elif k == 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def match_tokens(script_toks: list[str], heard_toks: list[str]) -> list[tuple[int, int, float]]:
    """Monotonic (script token, heard token, similarity) matches."""
    sm = difflib.SequenceMatcher(None, script_toks, heard_toks, autojunk=False)
    out: list[tuple[int, int, float]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out += [(i1 + k, j1 + k, 1.0) for k in range(i2 - i1)]
        elif tag == "replace":
            out += [(i1 + i, j1 + j, s) for i, j, s in _nw(script_toks[i1:i2], heard_toks[j1:j2])]
            # joined/split words: "every day" heard as "everyday"
            if i2 - i1 != j2 - j1:
                joined_s, joined_h = "".join(script_toks[i1:i2]), "".join(heard_toks[j1:j2])
                if joined_s == joined_h:
                    out = [p for p in out if not (i1 <= p[0] < i2)]
                    for i in range(i1, i2):
                        out.append((i, j1 + min(j2 - j1 - 1, (i - i1) * (j2 - j1) // (i2 - i1)), 0.9))
    out.sort()
    return out


def unmatched_runs(matched: np.ndarray) -> list[tuple[int, int]]:
    """Each run of unmatched words as (first index, one past the last)."""
    runs, i, n = [], 0, len(matched)
    while i < n:
        if matched[i]:
            i += 1
            continue
        j = i
        while j < n and not matched[j]:
            j += 1
        runs.append((i, j))
        i = j
    return runs


def align_words(script_words: list[str], heard: list[HeardWord], *, lag: float = DEFAULT_LAG,
                language: str = "") -> list[WordTiming]:
    """One timing per script word (captions show the script's words), from the recognised words.

    ``language``: Japanese is matched on both sides' kana readings (``storygen.text.kana``)."""
    n = len(script_words)
    if n == 0:
        return []
    s_toks, s_owner = _tokens(script_words, language)
    h_words = [h for h in heard if normalise_word(h.word)]
    h_toks, h_owner = _tokens([h.word for h in h_words], language)
    matches = match_tokens(s_toks, h_toks) if s_toks and h_toks else []

    # script word -> heard words it matched (with similarity)
    got: dict[int, list[tuple[int, float]]] = {}
    for si, hj, s in matches:
        got.setdefault(s_owner[si], []).append((h_owner[hj], s))
    # a heard word shared by several script words ("everyday" -> "every day") is split by length
    share: dict[int, list[int]] = {}
    for wi, lst in got.items():
        for hj in {h for h, _ in lst}:
            share.setdefault(hj, []).append(wi)

    starts = np.full(n, np.nan)
    ends = np.full(n, np.nan)
    conf = np.full(n, UNMATCHED_CONFIDENCE)
    for wi, lst in got.items():
        hs = sorted({h for h, _ in lst})
        a, b = h_words[hs[0]].start, max(h_words[h].end for h in hs)
        owners = sorted(share[hs[0]]) if len(hs) == 1 else [wi]
        if len(owners) > 1:
            lens = np.array([len(script_words[o]) for o in owners], float)
            edges = a + (b - a) * np.concatenate([[0], np.cumsum(lens)]) / lens.sum()
            k = owners.index(wi)
            a, b = edges[k], edges[k + 1]
        starts[wi], ends[wi] = a, b
        simv = float(np.mean([s for _, s in lst]))
        prob = float(np.mean([h_words[h].probability for h in hs]))
        conf[wi] = float(np.clip(0.5 * simv + 0.5 * simv * prob, 0.05, 1.0))
    matched = ~np.isnan(starts)

    # interpolate unmatched runs between matched neighbours, by word length
    total_end = max((h.end for h in h_words), default=0.0)
    for i, j in unmatched_runs(matched):
        left = ends[i - 1] if i > 0 else (starts[j] - 0.3 * (j - i) if j < n else 0.0)
        right = starts[j] if j < n else max(left, total_end) + (0.3 * (j - i) if total_end <= left else 0.0)
        left = max(0.0, float(left))
        right = max(left, float(right))
        lens = np.array([len(w) + 1 for w in script_words[i:j]], float)
        edges = left + (right - left) * np.concatenate([[0], np.cumsum(lens)]) / lens.sum()
        starts[i:j], ends[i:j] = edges[:-1], edges[1:]

    starts = np.maximum(0.0, starts - lag * matched)
    ends = np.maximum(starts, ends - lag * matched)
    out = [WordTiming(word=w, start=round(float(starts[k]), 3), end=round(float(ends[k]), 3),
                      confidence=round(float(conf[k]), 3), matched=bool(matched[k])) for k, w in enumerate(script_words)]
    return make_monotonic(out)


def make_monotonic(words: list[WordTiming]) -> list[WordTiming]:
    """No word starts before the previous one, none overlaps the next."""
    out: list[WordTiming] = []
    prev_start = 0.0
    for w in words:
        s = max(w.start, prev_start)
        e = max(w.end, s)
        out.append(w.model_copy(update={"start": round(s, 3), "end": round(e, 3)}))
        prev_start = s
    for k in range(len(out) - 1):
        if out[k].end > out[k + 1].start:
            out[k] = out[k].model_copy(update={"end": max(out[k].start, out[k + 1].start)})
    return out
