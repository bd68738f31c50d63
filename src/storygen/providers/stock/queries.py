"""Search queries for one scene, from specific to general.

They come from the scene plan's ``subject``, ``setting`` and ``action`` when the planner gave them, and from the
scene's own narration and visual prompt otherwise - never from the story title (which the deterministic planner
puts into every prompt) nor the style words. Stock search engines match short concrete phrases best, so each
query is two to five words.
"""

from __future__ import annotations

import re

from storygen.models import Scene

# words that never help a stock search: function words, pronouns, abstract or filler words, common verbs
_SKIP = set(
    ["a", "an", "the", "and", "or", "but", "so", "of", "to", "in", "on", "at", "for", "with", "from", "by", "as", "is", "was", "were", "be", "been", "being", "it", "its", "it's", "this", "that", "these", "those", "i", "i'm", "me", "my", "mine", "we", "our", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their", "there", "here", "then", "than", "when", "while", "what", "which", "who", "whom", "whose", "had", "has", "have", "do", "did", "does", "done", "not", "no", "nor", "just", "very", "into", "out", "up", "down", "over", "under", "again", "once", "all", "any", "each", "few", "more", "most", "some", "such", "only", "own", "same", "can", "will", "would", "could", "should", "may", "might", "must", "one", "two", "three", "like", "about", "after", "before", "because", "if", "until", "through", "during", "also", "even", "still", "ever", "never", "always", "every", "something", "nothing", "everything", "anything", "someone", "anyone", "everyone", "thing", "things", "way", "ways", "time", "times", "day", "days", "year", "years", "said", "says", "say", "told", "tell", "knew", "know", "known", "think", "thought", "felt", "feel", "feels", "seemed", "seem", "seems", "looked", "look", "looks", "got", "get", "gets", "went", "go", "goes", "came", "come", "comes", "made", "make", "makes", "took", "take", "takes", "let", "lets", "maybe", "really", "much", "many", "back", "away", "around", "ago", "yet", "though", "although", "whether", "where", "why", "how", "upon", "onto", "toward", "towards", "inside", "outside", "painterly", "digital", "illustration", "cinematic", "lighting", "soft", "volumetric", "light", "composition", "9:16", "4k", "8k", "detailed", "highly", "photorealistic", "style", "render", "art", "artstation", "trending", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "first", "last", "next", "other", "another"])
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can name something a camera sees, in order, without repeats."""
    out: list[str] = []
    for w in _WORD.findall(text or ""):
        lw = w.lower().strip("'-")
        lw = lw.removesuffix("'s")
        if len(lw) > 2 and lw not in _SKIP and lw not in out:
            out.append(lw)
    return out


def without_names(text: str) -> str:
    """``text`` without capitalised words inside a sentence (names: "Elias", "Maine"), which stock libraries do
    not index by."""
    out, start = [], True
    for tok in (text or "").split():
        word = tok.strip("\"'()[]“”‘’")
        if not start and word[:1].isupper() and word[1:2].islower():
            pass
        else:
            out.append(tok)
        start = bool(re.search(r"[.!?…:][\"')\]”’]*$", tok))
    return " ".join(out)


def _phrase(text: str, n: int = 5) -> str:
    return " ".join(content_words(text)[:n])


def prompt_phrases(prompt: str, *, exclude: str = "") -> list[str]:
    """The descriptive parts of a visual prompt: comma-separated segments of three or more words (a writer's
    "an old keeper holding a green bottle on a rocky shore"), not the single keywords of the deterministic
    planner, and not the style bible's words."""
    ex = {s.strip().lower() for s in exclude.split(",") if s.strip()}
    segs = [" ".join(s.split()) for s in (prompt or "").split(",")]
    if not segs or len(segs[0].split()) < 3:
        # keyword soup (the deterministic planner's "letter, window, <story title>, <style>"): its phrases are
        # the story's title and style, which say nothing about this scene
        return []
    out = []
    for seg in segs:
        s = " ".join(seg.split())
        if s.lower() in ex or len(s.split()) < 3:
            continue
        out.append(s)
    return out


def scene_queries(scene: Scene, *, style: str = "", limit: int = 5) -> list[str]:
    """Up to ``limit`` queries for ``scene``, most specific first."""
    subject = _phrase(str(getattr(scene, "subject", "") or ""), 4)
    setting = _phrase(str(getattr(scene, "setting", "") or ""), 3)
    action = _phrase(str(getattr(scene, "action", "") or ""), 3)
    phrases = prompt_phrases(scene.prompt, exclude=style)
    narr = content_words(without_names(scene.text))
    queries: list[str] = []

    def add(*parts: str, n: int = 5) -> None:
        words: list[str] = []
        for p in parts:
            for w in p.split():
                if w not in words:
                    words.append(w)
        q = " ".join(words[:n])
        if q and q not in queries:
            queries.append(q)

    if subject:
        add(subject, action, setting)
        add(subject, setting)
        add(subject, action)
        add(subject, n=3)
        if setting:
            add(setting)
    for p in phrases[:2]:
        add(_phrase(p, 5))
        add(_phrase(p, 3))
    if narr:
        add(" ".join(narr[:5]))
        add(" ".join(narr[:3]))
        add(" ".join(narr[:2]))
        # a general fallback: the narration's rarest-looking (longest) concrete words
        longest = sorted(narr, key=len, reverse=True)[:2]
        add(" ".join(longest))
        add(longest[0])
    return queries[:limit]
