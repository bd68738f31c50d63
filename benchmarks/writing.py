"""Quality and speed of the embedded default writer (llamacpp + the packaged Qwen2.5-Coder-1.5B Q4_K_M).

For 5 fixed ideas: generate_idea, then write_script (and the rules-only revision, which is instant).
Prints per script: words, idea seconds, script seconds, script calls, tokens/s, Flesch-Kincaid grade
(textstat), premise coverage (the share of the idea's content words that the script uses, by 4-letter stem: a
rough check that the story kept its premise), then one full sample script.

    python benchmarks/writing.py [-c writer.threads=1 ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

IDEAS = [
    "A lighthouse keeper finds a message in a bottle written in his own handwriting.",
    "A girl's smart speaker starts answering questions she hasn't asked yet.",
    "Every night at 3:07 am, the last bus stops at a station that was demolished in 1998.",
    "Two rival food-truck owners get snowed in together the night before the city's big cook-off.",
    "A retired astronaut's dog keeps staring at the same spot in the night sky.",
]


def _offline_syllables() -> str:
    """textstat counts syllables with NLTK's cmudict, which it downloads on first use; offline, let it fall back
    to its pyphen hyphenation dictionary (shipped with pyphen) instead of failing."""
    try:
        import nltk

        nltk.data.find("corpora/cmudict")
        return "cmudict"
    except LookupError:
        from textstat.backend.counts import _count_syllables

        _count_syllables.get_cmudict = lambda lang: {}
        return "pyphen (cmudict not available offline)"


def premise_coverage(idea_text: str, script: str) -> float:
    """Share of the idea's content words (planning's keyword rule) whose first 4 letters start a script word."""
    import re

    from storygen.planning import _keywords

    keys = _keywords(idea_text, n=8)
    stems = {w[:4] for w in re.findall(r"[a-z][a-z'-]+", script.lower())}
    return sum(k[:4] in stems for k in keys) / len(keys) if keys else 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-c", dest="overrides", action="append", default=[], help="config override, e.g. writer.threads=1")
    ap.add_argument("-n", type=int, default=len(IDEAS), help="how many of the 5 ideas to run")
    ap.add_argument("--save", default=None, help="a folder to write each revised script into (script_N.txt)")
    args = ap.parse_args()

    import textstat

    syllables = _offline_syllables()

    from storygen.config import load_config
    from storygen.providers.registry import get_provider
    from storygen.writing import count_words, generate_idea, revise_script, write_script

    cfg = load_config(overrides=["writer.provider=llamacpp", *args.overrides], env={})
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; FK syllables from {syllables}", flush=True)
    t = time.perf_counter()
    writer = get_provider("writer", cfg)
    print(f"writer: {writer.version}, threads={writer.threads}, load {time.perf_counter() - t:.1f}s", flush=True)
    hdr = f"{'#':>2} {'words':>5} {'idea s':>7} {'script s':>8} {'calls':>5} {'tok/s':>6} {'FK grade':>8} {'premise':>7}  title"
    print(hdr)
    rows, sample = [], None
    for i, text in enumerate(IDEAS[: args.n], 1):
        t0 = time.perf_counter()
        idea, c1 = generate_idea(writer, text, cfg)
        t1 = time.perf_counter()
        script, c2 = write_script(writer, idea, cfg)
        t2 = time.perf_counter()
        revised, _, _ = revise_script(None, script, cfg)
        toks = sum(c.completion_tokens for c in c2)
        gen_s = sum(c.seconds for c in c2)
        tps = toks / gen_s if gen_s else 0.0
        grade = textstat.flesch_kincaid_grade(revised)
        words = count_words(script)
        cover = premise_coverage(text, script)
        if args.save:
            from pathlib import Path

            from storygen.workspace import write_text

            write_text(Path(args.save) / f"script_{i}.txt", f"{idea.title}\n\n{revised}\n")
        rows.append((words, t1 - t0, t2 - t1, tps, grade, cover))
        print(f"{i:>2} {words:>5} {t1 - t0:>7.1f} {t2 - t1:>8.1f} {len(c2):>5} {tps:>6.1f} {grade:>8.1f} {cover:>7.0%}  "
              f"{idea.title}", flush=True)
        if sample is None:
            sample = (idea, revised)
    if rows:
        med = [statistics.median(r[k] for r in rows) for k in range(6)]
        print(f"median: words {med[0]:.0f}, idea {med[1]:.1f}s, script {med[2]:.1f}s, {med[3]:.1f} tok/s, FK grade {med[4]:.1f}, "
              f"premise coverage {med[5]:.0%}")
    if sample is not None:
        idea, text = sample
        print(f"\n--- sample: {idea.title} ({idea.tone}, {idea.narration}, overall score {idea.potential.overall}) ---\n")
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
