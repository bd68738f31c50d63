"""The vision quality gate: judge a keyframe, and below the threshold regenerate it with a new seed and a
prompt adjusted by the judge's problems, at most ``max_tries`` times. Every verdict is returned for the manifest.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from storygen.errors import NothingSuitable
from storygen.models import Scene, Verdict

# problem keyword -> (words to add to the prompt, words to add to the negative prompt)
_FIXES: list[tuple[tuple[str, ...], str, str]] = [
    (("wrong subject", "missing subject", "does not show", "unrelated", "off-topic"), "clearly showing {subject}", ""),
    (("text", "letters", "watermark", "logo", "signature", "caption"), "", "text, letters, watermark, logo, signature"),
    (("limb", "finger", "hand", "arm", "leg", "anatomy", "deformed", "mutated", "extra head", "face"),
     "correct anatomy", "extra limbs, extra fingers, deformed hands, mutated, disfigured face"),
    (("blur", "out of focus", "noisy", "low quality", "artifact"), "sharp focus, highly detailed", "blurry, out of focus, jpeg artifacts"),
    (("too dark", "underexposed", "dark"), "well lit, clear lighting", "dark, underexposed"),
    (("too bright", "washed out", "overexposed"), "balanced exposure, rich colour", "overexposed, washed out"),
    (("blank", "uniform", "empty"), "detailed scene with a clear subject", "blank, plain empty background"),
    (("duplicate", "same as", "repeated"), "a different composition and camera angle", ""),
    (("cropped", "cut off"), "full subject in frame", "cropped, cut off"),
]
_IGNORE = ("content not judged", "unparseable reply")


def actionable(problems: list[str]) -> list[str]:
    """Problems worth acting on: notes ("content not judged") and parse failures are not."""
    return [p for p in problems if p and not p.lower().startswith(_IGNORE)]


def adjust_prompt(prompt: str, negative: str, problems: list[str]) -> tuple[str, str]:
    """(prompt, negative) with emphasis and negatives for each problem the judge named."""
    subject = prompt.split(",")[0].strip() or prompt
    adds: list[str] = []
    negs: list[str] = [n.strip() for n in negative.split(",") if n.strip()]
    for prob in actionable(problems):
        low = prob.lower()
        matched = False
        for keys, pos, neg in _FIXES:
            if any(k in low for k in keys):
                matched = True
                if pos:
                    adds.append(pos.format(subject=subject))
                negs += [n.strip() for n in neg.split(",") if n.strip()]
                break
        if not matched and len(low) <= 60:
            negs.append(low)
    out_prompt = prompt
    for a in dict.fromkeys(adds):
        if a.lower() not in out_prompt.lower():
            out_prompt = f"{out_prompt}, {a}"
    return out_prompt, ", ".join(dict.fromkeys(negs))


def retry_seed(seed: int, attempt: int) -> int:
    """A new, reproducible seed for retry ``attempt`` (0 = the scene's own seed)."""
    return int(seed) if attempt == 0 else (int(seed) * 1_000_003 + attempt * 7919) % 2**31


def _wants_negative(generate: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(generate).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def gate_keyframe(
    generate: Callable[..., Image.Image],
    judge: Any,
    scene: Scene,
    *,
    threshold: float,
    max_tries: int,
    others: list[Image.Image] | None = None,
) -> tuple[Image.Image, list[dict[str, Any]]]:
    """Generate, judge, and retry below ``threshold``; return the best image and every verdict.

    ``generate(seed, prompt)`` makes one image (``generate(seed, prompt, negative)`` when it takes three
    arguments, so the judge's problems also reach the negative prompt). ``judge.judge(image, prompt,
    others=...)`` returns a Verdict; it always scores against the scene's original prompt. ``max_tries``
    counts every generation (1 = no retry). The best-scoring try wins (the first one on ties).
    """
    tries = max(1, int(max_tries))
    with_negative = _wants_negative(generate)
    prompt, negative = scene.prompt, scene.negative_prompt or ""
    best: Image.Image | None = None
    best_score = -1.0
    log: list[dict[str, Any]] = []
    for attempt in range(tries):
        seed = retry_seed(scene.seed, attempt)
        try:
            image = generate(seed, prompt, negative) if with_negative else generate(seed, prompt)
        except NothingSuitable:
            if best is None:  # nothing at all: the caller falls back for this scene
                raise
            break  # nothing else to try (a stock provider out of candidates): the best so far stands
        verdict: Verdict = judge.judge(image, scene.prompt, others=others)
        passed = verdict.score >= threshold
        log.append({
            "scene": scene.index, "attempt": attempt + 1, "seed": seed, "prompt": prompt,
            **({"negative_prompt": negative} if with_negative else {}),
            "score": round(float(verdict.score), 4), "problems": list(verdict.problems),
            "judged_content": verdict.judged_content, "judge": verdict.judge, "threshold": threshold, "passed": passed,
        })
        if verdict.score > best_score:
            best, best_score = image, verdict.score
        if passed:
            break
        if attempt + 1 < tries:
            prompt, negative = adjust_prompt(scene.prompt if attempt == 0 else prompt, negative, verdict.problems)
    assert best is not None
    for entry in log:
        entry["chosen"] = False
    chosen = max(range(len(log)), key=lambda i: (log[i]["score"], -i))
    log[chosen]["chosen"] = True
    return best, log


def middle_frame(video: str | os.PathLike[str]) -> Image.Image:
    """The middle frame of a clip, for judging generated motion the same way as keyframes."""
    import av

    with av.open(os.fspath(video)) as c:
        stream = c.streams.video[0]
        n = int(stream.frames or 0)
        frames: list[Any] = []
        for i, f in enumerate(c.decode(stream)):
            if n and i == n // 2:
                return f.to_image().convert("RGB")
            if not n:
                frames.append(f)
    if not frames:
        from storygen.errors import MediaError

        raise MediaError(f"'{video}' has no video frames.", "re-run the clips stage for this scene")
    return frames[len(frames) // 2].to_image().convert("RGB")
