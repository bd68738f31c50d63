"""Story ideas: the user's idea (any length) becomes a typed, scored StoryIdea; or N ideas are invented."""

from __future__ import annotations

import re
from typing import Any

from storygen.errors import InputError
from storygen.models import AGE_BANDS, GENDERS, PLATFORMS, REGIONS, Audience, Potential, StoryIdea
from storygen.providers.writer.base import Completion, Writer
from storygen.text.language import regions, resolve_language
from storygen.text.sentences import split_sentences
from storygen.writing.prompts import render
from storygen.writing.settings import setting
from storygen.writing.structured import ask_json, ask_json_many

SCORE_KEYS: tuple[str, ...] = (*PLATFORMS, *REGIONS, *AGE_BANDS, *GENDERS)


def score_keys(language: str = "en") -> tuple[str, ...]:
    """The numbers an idea is scored on: platforms, the language's regions, age bands, genders."""
    return (*PLATFORMS, *regions(language), *AGE_BANDS, *GENDERS)
MAX_THEME_CHARS = 300
MAX_IDEAS = 20


def _draft_schema(keys: tuple[str, ...] = SCORE_KEYS) -> dict[str, Any]:
    """What the model is asked for (kept flat and small: fewer tokens, easier for small models)."""
    s = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "title": {**s, "maxLength": 80},
            "logline": {**s, "maxLength": 300},
            "tone": {**s, "maxLength": 40},
            "theme": {**s, "maxLength": 40},
            "narrator_gender": {"type": "string", "enum": ["female", "male", "neutral"]},
            "narration": {"type": "string", "enum": ["first_person", "narrator"]},
            "voice_hint": {**s, "maxLength": 80},
            # 12 numbers in SCORE_KEYS order: a third of the tokens of a keyed object (speed on small CPUs)
            "scores": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 100},
                       "minItems": len(keys), "maxItems": len(keys)},
        },
        "required": ["title", "logline", "tone", "theme", "narrator_gender", "narration", "voice_hint", "scores"],
        "additionalProperties": False,
    }


def idea_schema(keys: tuple[str, ...] = SCORE_KEYS) -> dict[str, Any]:
    return _draft_schema(keys)


def ideas_schema(n: int, keys: tuple[str, ...] = SCORE_KEYS) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"ideas": {"type": "array", "items": _draft_schema(keys), "minItems": n, "maxItems": n}},
        "required": ["ideas"],
        "additionalProperties": False,
    }


def _clean_field(v: Any) -> Any:
    if isinstance(v, str):
        v = re.sub(r"^[\s>*#\-]+|[\s*#]+$", "", v)  # stray markdown marks around a field
        if len(v) >= 2 and v[0] in "\"'“" and v[-1] in "\"'”":
            v = v[1:-1]
        return " ".join(v.split())
    return v


def draft_to_idea(d: Any, source: str = "", language: str = "en") -> StoryIdea:
    """Map the model's flat draft onto StoryIdea (validated by pydantic; errors are fed back to the model).
    ``language``: the story's language, recorded in the idea; its regions are the audience's and are scored."""
    keys = score_keys(language)
    if not isinstance(d, dict):
        raise ValueError("expected a JSON object")
    scores = d.get("scores") or {}
    if isinstance(scores, list):
        if len(scores) != len(keys):
            raise ValueError(f"scores must hold exactly {len(keys)} numbers ({', '.join(keys)}), got {len(scores)}")
        scores = dict(zip(keys, scores))
    if not isinstance(scores, dict):
        raise ValueError("scores must be a list of 0-100 numbers")
    scores = {str(k): v for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def pick(keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: scores[k] for k in keys if k in scores}

    region_keys = regions(language)
    potential = Potential(platforms=pick(PLATFORMS), regions=pick(region_keys), age_bands=pick(AGE_BANDS),
                          genders=pick(GENDERS))
    fields: dict[str, Any] = {"title": "", "logline": ""}
    for key in ("title", "logline", "tone", "theme", "narrator_gender", "narration", "voice_hint"):
        v = _clean_field(d.get(key))
        if v not in (None, ""):
            fields[key] = v
    for key in ("narrator_gender", "narration"):
        if isinstance(fields.get(key), str):
            fields[key] = fields[key].lower().replace("-", "_").replace(" ", "_")
    if fields.get("narration") == "third_person":
        fields["narration"] = "narrator"
    return StoryIdea.model_validate({**fields, "potential": potential.model_dump(), "source": source[:2000],
                                     "language": language, "audience": Audience(regions=list(region_keys)).model_dump()})


# ----------------------------------------------------------------------------- condensing


def condense_idea(text: str, max_chars: int) -> str:
    """Shorten a long idea to at most ``max_chars`` by keeping whole sentences (extractive, deterministic).

    The opening (where a premise usually lives) is kept first; the remaining budget goes to sentences spread
    evenly through the rest, in their original order. A single over-long sentence is cut at a word boundary.
    """
    text = re.sub(r"\s+", " ", text.replace("\x00", "")).strip()
    if len(text) <= max_chars:
        return text
    sents = split_sentences(text) or [text]
    chosen: set[int] = set()
    used = 0

    def take(i: int) -> bool:
        nonlocal used
        cost = len(sents[i]) + 1
        if i in chosen or used + cost > max_chars:
            return False
        chosen.add(i)
        used += cost
        return True

    # the opening sentences, up to half the budget
    for i in range(len(sents)):
        if used + len(sents[i]) + 1 > max_chars // 2:
            break
        take(i)
    # then an even spread over the rest
    rest = [i for i in range(len(sents)) if i not in chosen]
    if rest:
        step = max(1, len(rest) // max(1, (max_chars - used) // 120))
        for i in rest[::step]:
            take(i)
        for i in rest:  # fill what budget is left
            take(i)
    if not chosen:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        return cut.rstrip(",;: ") + "…"
    return " ".join(sents[i] for i in sorted(chosen))


def _guard_data(text: str, tag: str) -> str:
    """The user's text goes between <tag> markers; make sure it cannot close them itself."""
    return re.sub(rf"</?\s*{tag}\s*>", "", text, flags=re.I)


# ----------------------------------------------------------------------------- generation


def generate_idea(writer: Writer, idea_text: str, cfg: Any) -> tuple[StoryIdea, list[Completion]]:
    """One StoryIdea from the user's idea text. Long ideas are condensed, not rejected; the idea is data only."""
    text = (idea_text or "").replace("\x00", "").strip()
    if not text:
        raise InputError("The idea is empty.", 'pass an idea in quotes, e.g. storygen make "A lighthouse keeper finds a message in a bottle".')
    max_chars = int(setting(cfg, "idea.max_chars"))
    source = condense_idea(text, min(max_chars, 2000))
    lang = resolve_language(setting(cfg, "story.language"), text)
    keys = score_keys(lang)
    messages = [
        {"role": "system", "content": render("system", cfg, language=lang)},
        {"role": "user", "content": render("idea_user", cfg, language=lang, idea=_guard_data(source, "idea"),
                                           n_scores=len(keys), score_keys=", ".join(keys))},
    ]
    idea, comps = ask_json(
        writer, messages, lambda d: draft_to_idea(d, source, lang), schema=idea_schema(keys),
        max_retries=_retries(cfg), max_tokens=300, cfg=cfg, what="story idea",
    )
    return _redact_idea(idea, cfg), comps


def generate_ideas(writer: Writer, n: int, theme: str | None, cfg: Any) -> tuple[list[StoryIdea], list[Completion]]:
    """N scored ideas in one call (optionally on a theme)."""
    if not isinstance(n, int) or n < 1 or n > MAX_IDEAS:
        raise InputError(f"Cannot make {n} ideas.", f"ask for between 1 and {MAX_IDEAS}.")
    theme_line = ""
    if theme is not None:
        theme = theme.replace("\x00", "").strip()
        if not theme:
            raise InputError("The theme is empty.", 'pass a few words, e.g. --theme "found family", or leave --theme out.')
        if len(theme) > MAX_THEME_CHARS:
            raise InputError(f"The theme is {len(theme)} characters long; the limit is {MAX_THEME_CHARS}.",
                             "use a few words; put a longer idea into `storygen make \"...\"` instead.")
        theme_line = " " + render("ideas_theme", cfg, theme=_guard_data(theme, "theme"))
    lang = resolve_language(setting(cfg, "story.language"), theme or "")
    keys = score_keys(lang)
    messages = [
        {"role": "system", "content": render("system", cfg, language=lang)},
        {"role": "user", "content": render("ideas_user", cfg, language=lang, n=n, theme_line=theme_line,
                                           n_scores=len(keys), score_keys=", ".join(keys))},
    ]

    if n > 1 and writer.batched:
        return _generate_ideas_batched(writer, n, theme, theme_line, cfg, lang)

    def parse(d: Any) -> list[StoryIdea]:
        items = d.get("ideas") if isinstance(d, dict) else d
        if not isinstance(items, list):
            raise ValueError('expected {"ideas": [...]}')
        if len(items) < n:
            raise ValueError(f"got {len(items)} ideas, need exactly {n}")
        return [draft_to_idea(x, theme or "", lang) for x in items[:n]]

    ideas, comps = ask_json(
        writer, messages, parse, schema=ideas_schema(n, keys), max_retries=_retries(cfg),
        max_tokens=80 + 220 * n, cfg=cfg, what=f"list of {n} ideas",
    )
    return [_redact_idea(i, cfg) for i in ideas], comps


# one angle per parallel stream, so that a batch of ideas does not come back as eight versions of one story
ANGLES = ("eerie mystery", "heartwarming", "survival thriller", "bittersweet historical", "funny, with a twist",
          "science-fiction", "quiet horror", "against-the-odds underdog", "romantic", "folk-tale", "true-crime-style",
          "adventure")


def _generate_ideas_batched(writer: Any, n: int, theme: str | None, theme_line: str,
                            cfg: Any, lang: str = "en") -> tuple[list[StoryIdea], list[Completion]]:
    """N ideas as N one-idea prompts decoded together (a batch on the GPU), each with its own angle."""

    def parse(d: Any) -> StoryIdea:
        items = d.get("ideas", d) if isinstance(d, dict) else d  # a bare idea object is accepted too
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise ValueError('expected {"ideas": [...]} with one idea')
        return draft_to_idea(items[0], theme or "", lang)

    keys = score_keys(lang)
    convs = [[
        {"role": "system", "content": render("system", cfg, language=lang)},
        {"role": "user", "content": render("ideas_user", cfg, language=lang, n=1, theme_line=theme_line,
                                           n_scores=len(keys), score_keys=", ".join(keys))
         + " " + render("ideas_angle", cfg, angle=ANGLES[k % len(ANGLES)])},
    ] for k in range(n)]
    ideas, comps = ask_json_many(writer, convs, parse, schema=ideas_schema(1, keys), max_retries=_retries(cfg),
                                 max_tokens=300, cfg=cfg, what="idea")
    return [_redact_idea(i, cfg) for i in ideas], comps


def _retries(cfg: Any) -> int:
    return int(setting(cfg, "writer.max_retries"))


def _redact_idea(idea: StoryIdea, cfg: Any) -> StoryIdea:
    """Belt and braces: no configured secret can reach an artifact, whatever the model wrote."""
    if cfg is None or not hasattr(cfg, "redact"):
        return idea
    data = idea.model_dump(mode="json")
    for k, v in data.items():
        if isinstance(v, str):
            data[k] = cfg.redact(v)
    return StoryIdea.model_validate(data)
