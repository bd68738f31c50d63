"""What every vision judge shares: the perceptual hash that spots near-duplicate frames, and for the
vision-language judges (LLaVA-OneVision, Phi-3.5-vision) the question they are asked, the defensive parsing of
their reply, and the size they see.
"""

from __future__ import annotations

import json
import re
from typing import Any

from PIL import Image

from storygen.media.similarity import DUPLICATE_BITS, hamming, phash  # noqa: F401 - the judges' names
from storygen.models import Verdict

MAX_SIDE = 768  # the judge sees at most 768 px: enough to spot wrong subjects, text or extra limbs


JUDGE_PROMPT = (
    "You are checking an illustration generated for one scene of a short video.\n"
    'The scene should show: "{prompt}".\n'
    "Rate from 0 to 10 how well the image shows that scene, and list concrete problems such as "
    '"wrong subject", "missing subject", "text artifacts", "watermark", "extra limbs", "extra fingers", '
    '"deformed face", "blurry", "cropped subject".\n'
    'Reply with JSON only, for example: {{"score": 7, "problems": ["extra fingers"]}}'
)


def judge_prompt(prompt: str) -> str:
    text = " ".join((prompt or "").split())
    return JUDGE_PROMPT.format(prompt=text[:600].replace('"', "'"))


_NUM = r"(-?\d+(?:\.\d+)?)"


def parse_verdict(reply: str, judge: str) -> Verdict:
    """Read {"score": 0-10, "problems": [...]} out of a model reply; garbage gives score 0 + a problem."""
    text = (reply or "").strip()
    data: dict[str, Any] | None = None
    # every balanced-looking {...} span, longest first
    starts = [m.start() for m in re.finditer(r"\{", text)]
    ends = [m.end() for m in re.finditer(r"\}", text)]
    spans = sorted(((s, e) for s in starts for e in ends if e > s), key=lambda se: se[0] - se[1])
    for s, e in spans[:50]:
        chunk = text[s:e]
        for cand in (chunk, chunk.replace("'", '"')):
            try:
                obj = json.loads(cand)
            except (json.JSONDecodeError, ValueError):
                continue
            if isinstance(obj, dict) and any(k.lower() == "score" for k in obj):
                data = {k.lower(): v for k, v in obj.items()}
                break
        if data is not None:
            break
    score: float | None = None
    problems: list[str] = []
    if data is not None:
        try:
            score = float(data.get("score"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            score = None
        raw = data.get("problems", [])
        if isinstance(raw, str):
            raw = [p for p in re.split(r"[;,\n]", raw)]
        if isinstance(raw, list):
            problems = [" ".join(str(p).split())[:120] for p in raw if str(p).strip()][:12]
    if score is None:
        m = re.search(r"score\W{0,4}" + _NUM, text, re.I) or re.search(_NUM + r"\s*/\s*10\b", text)
        if m:
            score = float(m.group(1))
    if score is None or score != score:  # None or NaN
        snippet = " ".join(text.split())[:80]
        return Verdict(score=0.0, problems=[f"unparseable reply from the judge: {snippet!r}"], judged_content=False,
                       judge=judge)
    if score > 10 and score <= 100:  # some models answer in percent
        score /= 10
    return Verdict(score=max(0.0, min(10.0, score)) / 10.0, problems=problems, judged_content=True, judge=judge)


def shrink(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    image = image.convert("RGB")
    w, h = image.size
    if max(w, h) > max_side:
        k = max_side / max(w, h)
        image = image.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.LANCZOS)
    return image


def flag_duplicate(verdict: Verdict, image: Image.Image, others: list[Image.Image] | None) -> Verdict:
    """A VLM judges one frame at a time: add the cheap near-duplicate check against earlier frames."""
    if not others:
        return verdict
    h = phash(image)
    if min(hamming(h, phash(o)) for o in others) > DUPLICATE_BITS:
        return verdict
    return verdict.model_copy(update={"problems": [*verdict.problems, "near-duplicate of an earlier frame"],
                                      "score": min(verdict.score, 0.2)})
