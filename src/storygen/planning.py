"""Scene planning: split the narration into scenes that cover the voice's timeline exactly.

The deterministic planner needs no model: scene boundaries fall on sentence ends near the target
length, each scene gets a prompt from its own words plus the story's style bible, a mood, a palette and
a camera move. When a writer model is configured, ``refine_with_writer`` asks it for better visual
prompts for the same scenes (timings stay the planner's).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, Field

from storygen.art.composition import camera_for_text
from storygen.art.moods import palette_for, pick_mood, pick_motifs
from storygen.errors import ProviderError
from storygen.models import (
    CameraMove,
    Scene,
    ScenePlan,
    StoryIdea,
    StyleBible,
    WordTiming,
)
from storygen.writing.structured import ask_json

CAMERAS: tuple[CameraMove, ...] = ("zoom_in", "pan_right", "zoom_out", "pan_up", "pan_left", "zoom_in", "pan_down")
_STOP = set(
    "a an the and or but so of to in on at for with from by as is was were be been being it its this that these those "
    "i me my we our you your he him his she her they them their there here then than when while what which who whom "
    "had has have do did does not no just very into out up down over under again once all any each few more most some "
    "such only own same can will would could should may might must one two three".split()
)


def stable_seed(*parts: Any) -> int:
    return int(hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:8], 16)


def _sentence_ends(words: list[WordTiming]) -> list[int]:
    """Indices i such that a sentence ends after words[i]."""
    return [i for i, w in enumerate(words) if re.search(r"[.!?…][\"')\]]*$", w.word)]


_FILLERS = re.compile(r"\b(?:like|just|really|actually|literally|basically|honestly|um+|uh+|you know|i mean|kind of|"
                      r"sort of|so+|well|okay|ok|anyway|suddenly|then|and then|but|because|it['’]s|i['’]m|there['’]s|it is|i am)\b,?\s*",
                      re.I)
_SUBJECT_PRONOUNS = {"he": "{n}", "she": "{n}", "him": "{n}", "her": "{n}'s", "his": "{n}'s", "hers": "{n}'s"}
_PREPOSITIONS = {"by", "at", "in", "on", "to", "from", "with", "for", "as", "and", "or", "but", "again", "away", "back",
                 "up", "down", "out", "off", "into", "onto", "over", "under", "near", "beside", "behind", "before", "after"}
_NOT_NAMES = {"I", "The", "A", "An", "It", "He", "She", "They", "We", "You", "But", "And", "Then", "When", "One", "Every",
              "Inside", "His", "Her", "There", "This", "That", "What", "Now", "Once", "Mr", "Mrs", "Ms", "Dr"}


def story_names(text: str) -> list[str]:
    """The people the narration names: capitalised words used inside sentences (not only at their start), most
    mentioned first."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b", text):
        name = m.group(1)
        if name not in _NOT_NAMES:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], text.find(n)))


def visual_phrase(text: str, names: list[str], max_words: int = 16) -> str:
    """The scene's picture as a phrase an image model can use: its most concrete sentence, with fillers and quoted
    speech taken out and third-person pronouns resolved to the story's main character (not a keyword list)."""
    from storygen.art.lexicon import read_scene

    sentences = [s.strip() for s in re.split(r"(?<=[.!?…])\s+", text) if s.strip()] or [text]

    def concreteness(sentence: str) -> int:
        sw = read_scene(sentence)
        return 2 * len(sw.objects) + len(sw.settings) + (1 if sw.time else 0) + sum(n in sentence for n in names)

    best = max(sentences, key=lambda s: (concreteness(s), -sentences.index(s)))
    s = re.sub(r"[\"“”].*?[\"“”]", "", best)  # what is said is not what is seen
    s = _FILLERS.sub("", s)
    if names:
        def resolve(m: re.Match[str]) -> str:
            word, after = m.group(1).lower(), m.group(2)
            if word == "her" and (not after or after.lower() in _PREPOSITIONS):
                return names[0] + m.group(0)[len(m.group(1)):]  # "smiled at her by ..." -> object, not possessive
            return _SUBJECT_PRONOUNS[word].format(n=names[0]) + m.group(0)[len(m.group(1)):]

        s = re.sub(r"\b(he|she|him|her|his|hers)\b(?:\s+(\w+))?", resolve, s, flags=re.I)
    s = re.sub(r"[^\w'’ ,-]", " ", s)
    ws = s.split()
    if len(ws) > max_words:  # cut at a clause boundary where one comes late enough
        cut = " ".join(ws[:max_words])
        comma = cut.rfind(",")
        s = cut[:comma] if comma > len(cut) // 2 else cut
    return " ".join(s.split()).strip(" ,-")


def style_bible(idea: StoryIdea, seed: int) -> StyleBible:
    mood = pick_mood(idea.tone, idea.theme, idea.logline)
    return StyleBible(
        art_style="painterly digital illustration, cinematic lighting, soft volumetric light, 9:16 composition",
        palette=palette_for(mood),
        characters=[],
        seed=seed,
    )


def plan_scenes(idea: StoryIdea, words: list[WordTiming], total: float, *, min_s: float = 4.0, max_s: float = 9.0,
                count: int = 0, seed: int = 0) -> ScenePlan:
    """Cut the voice timeline [0, total] into scenes at sentence ends (or word gaps) near the target length."""
    if not words:
        raise ProviderError("There are no word timings to plan scenes from.", "run the captions stage first.")
    target = total / count if count > 0 else min(max_s, max(min_s, total / max(1, round(total / 6.5))))
    n_scenes = count if count > 0 else max(1, round(total / target))
    ends = set(_sentence_ends(words))
    cuts: list[int] = []  # word index after which a scene ends
    for k in range(1, n_scenes):
        goal = k * total / n_scenes
        # candidate cut points: sentence ends first, then any word gap, nearest to the goal time
        cands = [i for i in ends if i < len(words) - 1 and (not cuts or i > cuts[-1])]
        if not cands:
            cands = [i for i in range(len(words) - 1) if not cuts or i > cuts[-1]]
        if not cands:
            break
        best = min(cands, key=lambda i: abs(words[i + 1].start - goal) + (0 if i in ends else target * 0.35))
        cuts.append(best)
    bounds_idx = [-1, *cuts, len(words) - 1]
    times = [0.0] + [round((words[i].end + words[i + 1].start) / 2, 3) for i in cuts] + [round(total, 3)]
    style = style_bible(idea, seed)
    story_mood = pick_mood(idea.tone, idea.theme, idea.logline)
    story_motifs = sorted(pick_motifs(" ".join([idea.title, idea.logline])))
    names = story_names(" ".join(w.word for w in words))
    scenes: list[Scene] = []
    for s in range(len(times) - 1):
        text = " ".join(w.word for w in words[bounds_idx[s] + 1 : bounds_idx[s + 1] + 1])
        mood = pick_mood(text, default=story_mood)
        phrase = visual_phrase(text, names)
        setting = [m for m in story_motifs if m not in phrase.lower()][:2]
        # the scene's subject first; the style is stated once, by the image provider (StyleBible.art_style)
        prompt = ", ".join(p for p in [phrase, *setting] if p) or idea.title
        scenes.append(Scene(
            index=s, text=text, start=times[s], end=times[s + 1], prompt=" ".join(prompt.split()),
            camera=camera_for_text(text, s), mood=mood, palette=palette_for(mood),
            seed=stable_seed(seed, s, text),
        ))
    return ScenePlan(style=style, scenes=scenes, planner="deterministic")


class _SceneVisual(BaseModel):
    index: int
    prompt: str = Field(min_length=3, max_length=400)
    camera: CameraMove = "zoom_in"
    mood: str = "calm"


class _Visuals(BaseModel):
    art_style: str = Field(min_length=3, max_length=200)
    characters: list[dict[str, str]] = Field(default_factory=list)
    scenes: list[_SceneVisual]


def refine_with_writer(plan: ScenePlan, idea: StoryIdea, writer: Any, *, max_retries: int = 2) -> tuple[ScenePlan, list[Any]]:
    """Ask the writer for a visual prompt, camera move and mood per scene, plus a style bible. Validated."""
    schema = _Visuals.model_json_schema()
    lines = "\n".join(f"{s.index}: {s.text}" for s in plan.scenes)
    messages = [
        {"role": "system", "content": "You are a storyboard artist for vertical short videos. Reply with JSON only."},
        {"role": "user", "content": (
            f"Story title: {idea.title}\nTone: {idea.tone}\n\nNarration, one numbered scene per line:\n{lines}\n\n"
            "For each scene give a concrete visual prompt for an image model (subject, setting, lighting; no text in the image), "
            f"a camera move (one of {', '.join(sorted(set(CAMERAS) | {'static'}))}) and a one-word mood. Also give a short "
            "art_style shared by all scenes and the recurring characters as {name, description}. "
            f"JSON keys: art_style, characters, scenes[index, prompt, camera, mood]. Use exactly {len(plan.scenes)} scenes."
        )},
    ]
    def parse(data: Any) -> _Visuals:
        vis = _Visuals.model_validate(data)
        if len(vis.scenes) != len(plan.scenes):
            raise ValueError(f"expected {len(plan.scenes)} scenes, got {len(vis.scenes)}")
        return vis

    vis, completions = ask_json(writer, messages, parse, schema=schema, max_retries=max_retries, max_tokens=900,
                                what="scene plan")
    style = plan.style.model_copy(update={
        "art_style": vis.art_style,
        "characters": [{"name": c.get("name", "?"), "description": c.get("description", ""), "seed": stable_seed(c.get("name"))}
                       for c in vis.characters if isinstance(c, dict)],
    })
    scenes = [s.model_copy(update={"prompt": v.prompt, "camera": v.camera, "mood": v.mood.lower()[:30],
                                   "palette": palette_for(pick_mood(v.mood, default=s.mood))})
              for s, v in zip(plan.scenes, sorted(vis.scenes, key=lambda v: v.index))]
    return ScenePlan(style=style, scenes=scenes, planner="writer"), completions
