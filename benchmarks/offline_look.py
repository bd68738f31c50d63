"""How much the offline (procedural) keyframes show the story: 4 fixed stories, planned by the real deterministic
scene planner, drawn at 1080x1920 by the procedural image provider.

Prints per story and overall:
- the mean perceptual-hash (pHash, 64-bit, ``imagehash.phash``) Hamming distance between consecutive keyframes
  (0 = the same picture; about 32 = unrelated pictures), and the smallest such distance;
- the share of scenes whose named drawable objects are all drawn. "Named" comes from this file's own word list
  (not the art module's), "drawn" from ``image.info["storygen_drawn"]``. A provider that records nothing (the old
  one) is credited with what its code drew: sea, lighthouse (on the sea), forest, city, night sky and moon words;
- recall per object, and the seconds per keyframe (wall and CPU: the wall time counts other processes' load).

    python benchmarks/offline_look.py [--sheet docs/offline_look.jpg] [--width 1080 --height 1920]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from itertools import pairwise
from pathlib import Path

import imagehash
from PIL import Image, ImageDraw

from storygen.art.moods import pick_motifs
from storygen.models import StoryIdea, WordTiming
from storygen.planning import plan_scenes
from storygen.providers.images.procedural import ProceduralImages

STORIES: list[tuple[StoryIdea, str]] = [
    (StoryIdea(title="The Bottle", logline="A lighthouse keeper finds a message in a bottle.", tone="wistful", theme="memory"),
     ("The storm had passed by midnight, and the lighthouse beam swept the black sea. "
     "At dawn, old Elias walked down to the shore. "
     "Something green glinted between the rocks: a bottle, sealed with wax. "
     "Inside was a letter, folded small, the paper soft with age. "
     "The handwriting was his own, dated forty years from now. "
     "He climbed the stairs and read it again by the window. "
     "It told him to row the boat out past the reef before sunset. "
     "He pushed off as the sky turned orange, and the bottle rode beside him on the tide. "
     "Far out, a light flickered where no light should be. "
     "By nightfall, the lamp of his lighthouse looked very small behind him.")),
    (StoryIdea(title="The Last Bus", logline="The last bus stops at a station that was demolished in 1998.", tone="eerie", theme="home"),
     ("Every night at three, the last bus turns onto Harlow Road. "
     "The street lamps buzz, and the city sleeps behind dark windows. "
     "Maya waits alone at a station that was torn down years ago. "
     "A man in a grey coat sits on the bench beside her. "
     "He hands her a ticket, a scrap of yellow paper with her name on it. "
     "The bus takes them out of town, past a single oak tree in an empty field. "
     "A small house waits at the end of the road, its window glowing. "
     "She knows this house. She grew up in it.")),
    (StoryIdea(title="Snowed In", logline="Two rival cooks get snowed in together before the big cook-off.", tone="warm", theme="rivals"),
     ("Snow buried the mountain pass by noon. "
     "Two rival cooks shared the only cabin in the forest. "
     "The pine trees groaned under the weight of the snow. "
     "They argued over the stove until the moon came up. "
     "Tom found an old recipe card in the drawer, a note from the cabin's first owner. "
     "They cooked it together while the stars came out over the valley. "
     "At sunrise, a plow cleared the road to the city. "
     "They drove down side by side.")),
    (StoryIdea(title="The Star", logline="A retired astronaut's dog keeps staring at the same spot in the sky.", tone="hopeful", theme="wonder"),
     ("A retired astronaut lives in a small house at the edge of the desert. "
     "Every evening his dog sits in the yard and stares at the same star. "
     "The old man brings out his telescope and points it where the dog is looking. "
     "Nothing is there, only the dark sky and a thin moon. "
     "One night the star moves. "
     "It drifts across the sky and lands softly in the dunes beyond the road. "
     "The dog runs ahead, and the man follows with a lantern. "
     "In the sand they find a capsule with his name painted on the side.")),
]

# what a reader would expect to see, by the words of the narration (independent of the art's own lexicon)
NAMED: dict[str, tuple[str, ...]] = {
    "bottle": ("bottle", "bottles"),
    "letter": ("letter", "letters", "paper", "note", "message", "ticket", "card", "envelope", "page"),
    "house": ("house", "houses", "home", "cottage", "cabin", "hut"),
    "figure": ("man", "woman", "keeper", "girl", "boy", "child", "person", "stranger", "cooks", "cook", "astronaut"),
    "boat": ("boat", "boats", "ship", "rowboat", "sail"),
    "tree": ("tree", "trees", "oak", "pine"),
    "window": ("window", "windows"),
    "road": ("road", "street", "path", "lane"),
    "sea": ("sea", "ocean", "shore", "tide", "reef", "waves"),
    "lighthouse": ("lighthouse",),
    "forest": ("forest", "woods"),
    "city": ("city", "town"),
    "night_sky": ("night", "midnight", "nightfall", "star", "stars"),
    "moon": ("moon",),
}


def words_for(text: str) -> list[WordTiming]:
    out, t = [], 0.3
    for w in text.split():
        out.append(WordTiming(word=w, start=round(t, 3), end=round(t + 0.3, 3)))
        t += 0.38 + (0.25 if w.endswith(".") else 0)
    return out


def plan_for(idea: StoryIdea, text: str, seed: int = 7):
    words = words_for(text)
    n = len(re.findall(r"[.!?]", text))
    return plan_scenes(idea, words, words[-1].end + 0.5, count=n, seed=seed)


def named_in(text: str) -> set[str]:
    ws = set(re.findall(r"[a-z]+", text.lower()))
    return {obj for obj, keys in NAMED.items() if ws & set(keys)}


def drawn_by(image: Image.Image, scene) -> set[str]:
    if "storygen_drawn" in image.info:
        return set(image.info["storygen_drawn"])
    # the old provider records nothing: credit what its motif code drew
    motifs = pick_motifs(scene.prompt + " " + scene.text)
    drawn = {m for m in ("sea", "forest", "city") if m in motifs}
    if "lighthouse" in motifs and "sea" in motifs:
        drawn.add("lighthouse")
    if "night" in motifs or "space" in motifs:
        drawn |= {"night_sky", "moon"}
    return drawn


def contact_sheet(images: list[Image.Image], path: Path, *, cols: int = 5, thumb_w: int = 270) -> None:
    thumb_h = thumb_w * 16 // 9
    rows = (len(images) + cols - 1) // cols
    pad = 8
    sheet = Image.new("RGB", (cols * (thumb_w + pad) + pad, rows * (thumb_h + pad) + pad), (18, 18, 22))
    draw = ImageDraw.Draw(sheet)
    for i, im in enumerate(images):
        x, y = pad + (i % cols) * (thumb_w + pad), pad + (i // cols) * (thumb_h + pad)
        sheet.paste(im.convert("RGB").resize((thumb_w, thumb_h), Image.Resampling.LANCZOS), (x, y))
        draw.text((x + 6, y + 4), str(i + 1), fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, format="JPEG", quality=82, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1080)
    ap.add_argument("--height", type=int, default=1920)
    ap.add_argument("--sheet", type=Path, default=None, help="write a contact sheet of the first story here (JPEG)")
    args = ap.parse_args()
    gen = ProceduralImages()
    all_dist, all_ok, secs, cpu = [], [], [], []
    recall: dict[str, list[bool]] = {k: [] for k in NAMED}
    for si, (idea, text) in enumerate(STORIES):
        plan = plan_for(idea, text)
        images, hashes, ok = [], [], []
        for scene in plan.scenes:
            t0, c0 = time.perf_counter(), time.process_time()
            im = gen.generate(scene, plan.style, width=args.width, height=args.height, seed=scene.seed)
            secs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert im.size == (args.width, args.height), im.size
            images.append(im)
            hashes.append(imagehash.phash(im))
            named, drawn = named_in(scene.text), drawn_by(im, scene)
            for obj in named:
                recall[obj].append(obj in drawn)
            ok.append(named <= drawn)
        dist = [int(a - b) for a, b in pairwise(hashes)]
        all_dist += dist
        all_ok += ok
        print(f"story {si + 1} '{idea.title}': {len(plan.scenes)} scenes, pHash distance to the previous scene "
              f"mean {statistics.mean(dist):.1f} min {min(dist)}; named objects drawn in {sum(ok)}/{len(ok)} scenes")
        if si == 0 and args.sheet:
            contact_sheet(images, args.sheet)
            print(f"contact sheet: {args.sheet} ({args.sheet.stat().st_size // 1024} KB)")
    print(f"\nall stories: mean pHash distance between consecutive keyframes {statistics.mean(all_dist):.1f} "
          f"(min {min(all_dist)}, {len(all_dist)} pairs)")
    print(f"scenes whose named drawable objects are all drawn: {sum(all_ok)}/{len(all_ok)} = {sum(all_ok) / len(all_ok):.0%}")
    print("recall per object: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in recall.items() if v))
    print(f"seconds per keyframe ({args.width}x{args.height}, one process): wall mean {statistics.mean(secs):.3f} "
          f"max {max(secs):.3f}; CPU mean {statistics.mean(cpu):.3f} max {max(cpu):.3f}")


if __name__ == "__main__":
    main()
