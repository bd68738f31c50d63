"""Stock matching benchmark: does the product pick the clip that shows the scene, where the search API's first
result is a decoy?

A labelled set made for this benchmark: 32 scene narrations, each with a pool of candidate descriptions as the
services return them (Pexels page slugs, Pixabay tag lists, Pexels photo alt texts). In every pool the decoys come
first in "API order", and most share a keyword with the scene (the kind of hit a keyword search returns). The
product ranks each pool with ``storygen.providers.stock.ranking.rank`` (all-MiniLM-L6-v2 text similarity plus
orientation, resolution and duration); the baseline takes the first search result, as keyword-and-first-result
tools do. Prints top-1 accuracy for both.

    python benchmarks/matching.py
"""

from __future__ import annotations

import time

from storygen.models import Scene
from storygen.providers.stock.candidate import Candidate
from storygen.providers.stock.embedding import load_embedder
from storygen.providers.stock.ranking import rank

# (narration, the right candidate, decoys in API order). Slugs are Pexels-style page URLs, "tags:" are Pixabay tags.
SET: list[tuple[str, str, list[str]]] = [
    ("Every night, the old keeper climbed the lighthouse stairs with a lantern.",
     "slug:old-man-climbing-spiral-stairs-with-a-lantern", ["slug:lighthouse-on-a-cliff-aerial-view", "tags:night, city, lights"]),
    ("One morning, the sea left a green bottle at his door.",
     "tags:bottle, glass, beach, sand, message", ["slug:morning-coffee-on-a-table", "tags:door, wooden, house, green", "slug:sea-waves-crashing"]),
    ("Inside was a letter, yellowed and folded, addressed to him.",
     "alt:Old folded letter with handwriting on a wooden table", ["alt:Man opening a door inside a house", "slug:yellow-flowers-in-a-field"]),
    ("She ran through the rain to catch the last train home.",
     "slug:woman-running-in-the-rain-at-night", ["slug:train-passing-through-countryside", "tags:rain, window, drops", "slug:home-interior-living-room"]),
    ("The kids built a sandcastle while the tide crept closer.",
     "tags:children, sandcastle, beach, playing", ["slug:ocean-tide-at-sunset", "tags:castle, medieval, stone", "slug:kids-playing-football"]),
    ("He burned the toast again and laughed as the smoke alarm screamed.",
     "slug:man-laughing-in-a-smoky-kitchen", ["slug:toast-with-butter-on-a-plate", "tags:fire, alarm, red", "slug:smoke-rising-from-a-chimney"]),
    ("A fox slipped through the snowy forest without a sound.",
     "tags:fox, snow, forest, winter, wildlife", ["slug:snowy-forest-road-drone", "tags:forest, green, trees, summer", "slug:dog-running-in-snow"]),
    ("Her grandmother's hands kneaded the dough slowly, the way she always had.",
     "slug:elderly-woman-hands-kneading-dough", ["slug:bread-loaves-in-a-bakery-window", "tags:hands, holding, couple", "slug:grandmother-and-child-smiling"]),
    ("The city went dark; only the candles in the windows remained.",
     "slug:candles-glowing-in-dark-apartment-windows", ["slug:city-skyline-timelapse-day-to-night", "tags:candle, birthday, cake", "slug:dark-clouds-over-the-city"]),
    ("He typed the last line of code as the sun came up behind the monitors.",
     "slug:programmer-at-computer-at-sunrise", ["slug:sunrise-over-mountains", "tags:code, matrix, green, digital", "slug:office-desk-with-monitors-empty"]),
    ("The boat drifted past the reeds, its engine silent.",
     "slug:small-boat-drifting-among-reeds-on-a-lake", ["slug:speedboat-racing-on-the-sea", "tags:reeds, grass, wind, field", "slug:car-engine-close-up"]),
    ("They danced in the empty kitchen to a song on the radio.",
     "alt:Couple dancing together in a kitchen", ["alt:Empty modern kitchen interior", "slug:vintage-radio-on-a-shelf", "tags:concert, crowd, music"]),
    ("A single balloon floated up over the rooftops.",
     "slug:red-balloon-floating-over-city-rooftops", ["slug:rooftop-party-with-friends", "tags:balloons, birthday, party, colorful", "slug:hot-air-balloon-festival"]),
    ("The soldier read his daughter's drawing by torchlight.",
     "slug:soldier-looking-at-a-child-drawing-with-a-flashlight", ["slug:child-drawing-with-crayons", "tags:soldier, army, march, parade", "slug:torch-fire-at-night"]),
    ("Steam rose from the cup as she stared out at the frozen lake.",
     "slug:woman-with-hot-drink-looking-at-a-frozen-lake", ["slug:steam-train-in-the-mountains", "tags:cup, coffee, latte, art", "slug:ice-skating-on-a-lake"]),
    ("The dog waited at the station every day for a man who never came back.",
     "slug:dog-waiting-alone-on-a-train-platform", ["slug:train-station-crowd-rush-hour", "tags:dog, park, playing, ball", "slug:man-walking-away-down-a-road"]),
    ("Thunder rolled over the wheat fields as the farmer ran for the barn.",
     "slug:farmer-running-through-wheat-field-storm", ["slug:lightning-storm-over-the-ocean", "tags:wheat, bread, bakery", "slug:red-barn-in-sunshine"]),
    ("He opened the old piano and played the first notes in twenty years.",
     "alt:Man playing an old upright piano", ["alt:Piano keys close up black and white", "slug:old-man-sitting-on-a-bench", "tags:guitar, music, concert"]),
    ("The astronaut watched Earth rise over the grey horizon.",
     "slug:earth-rising-over-the-moon-surface", ["slug:astronaut-training-in-a-pool", "tags:horizon, sea, calm, sunset", "slug:grey-concrete-building"]),
    ("Two strangers shared an umbrella at the bus stop.",
     "slug:two-people-sharing-an-umbrella-at-a-bus-stop", ["slug:bus-driving-through-city-streets", "tags:umbrella, colorful, hanging, decoration", "slug:strangers-crowd-walking-in-city"]),
    ("The bakery's lights came on at four in the morning.",
     "slug:baker-turning-on-lights-in-bakery-before-dawn", ["slug:morning-jog-in-the-park", "tags:lights, christmas, bokeh", "slug:cupcakes-on-display"]),
    ("A girl on a bicycle raced the sunset down the coastal road.",
     "slug:girl-riding-a-bicycle-on-a-coastal-road-at-sunset", ["slug:sunset-over-the-ocean-timelapse", "tags:bicycle, parked, street, city", "slug:car-driving-on-highway"]),
    ("The letter slid under the door at midnight.",
     "slug:envelope-pushed-under-a-door-in-the-dark", ["slug:midnight-city-lights", "tags:door, red, entrance, house", "slug:letters-alphabet-wooden-blocks"]),
    ("Waves smashed against the lighthouse as the storm reached its peak.",
     "slug:huge-waves-crashing-against-a-lighthouse-in-a-storm", ["slug:lighthouse-on-a-calm-summer-day", "tags:storm, clouds, dark, sky", "slug:mountain-peak-at-sunrise"]),
    ("The old man fed the pigeons in the square, as he did every Sunday.",
     "slug:elderly-man-feeding-pigeons-in-a-town-square", ["slug:town-square-fountain-tourists", "tags:pigeon, bird, close-up", "slug:old-church-on-sunday"]),
    ("She lit a match and the tiny flame was the only light in the cabin.",
     "alt:Hand striking a match in a dark room", ["alt:Log cabin in the woods in winter", "slug:fireworks-light-up-the-sky", "tags:matches, box, macro"]),
    ("The whale surfaced beside the tiny fishing boat.",
     "slug:whale-surfacing-next-to-a-small-boat", ["slug:fishing-boat-in-harbor", "tags:fish, aquarium, tropical", "slug:cruise-ship-at-sea"]),
    ("He packed his childhood toys into a cardboard box and taped it shut.",
     "slug:man-packing-old-toys-into-a-cardboard-box", ["slug:children-playing-with-toys", "tags:box, gift, present, ribbon", "slug:moving-truck-on-a-street"]),
    ("The nurse held the newborn up to the window's light.",
     "alt:Nurse holding a newborn baby near a window", ["alt:Hospital corridor empty", "slug:window-light-on-a-wall", "tags:baby, toys, colorful"]),
    ("Fireflies rose from the meadow as the children ran barefoot.",
     "slug:children-running-in-a-meadow-with-fireflies-at-dusk", ["slug:meadow-flowers-in-spring-wind", "tags:fire, campfire, night, sparks", "slug:kids-running-on-a-beach"]),
    ("The chess clock ticked while the girl considered her final move.",
     "slug:young-girl-thinking-over-a-chess-board", ["slug:clock-ticking-close-up", "tags:chess, pieces, king, black", "slug:girl-dancing-in-a-studio"]),
    ("Snow fell on the empty playground where they used to meet.",
     "slug:snow-falling-on-an-empty-playground", ["slug:kids-on-swings-summer-playground", "tags:snow, mountain, ski", "slug:friends-meeting-in-a-cafe"]),
    ("The mechanic wiped the oil from his hands and started the old truck.",
     "slug:mechanic-starting-an-old-truck-in-a-garage", ["slug:oil-pouring-into-a-pan", "tags:truck, highway, traffic", "slug:hands-washing-with-soap"]),
    ("Lanterns drifted down the river, one for every name.",
     "slug:paper-lanterns-floating-on-a-river-at-night", ["slug:river-rapids-in-a-canyon", "tags:lantern, camping, tent", "slug:names-written-on-a-wall"]),
]


def _candidate(i: int, desc: str, rank_: int) -> Candidate:
    kind, _, text = desc.partition(":")
    page = f"https://www.pexels.com/video/{text}-{1000 + i}/" if kind == "slug" else f"https://pixabay.com/videos/id-{1000 + i}/"
    return Candidate(provider="pexels" if kind == "slug" else "pixabay", id=str(1000 + i), kind="video", page_url=page,
                     author="a", author_url="", download_url="x", width=1080, height=1920, duration=12.0,
                     alt=text if kind == "alt" else "", tags=[t.strip() for t in text.split(",")] if kind == "tags" else [],
                     api_rank=rank_)


def main() -> None:
    t0 = time.perf_counter()
    embed = load_embedder()
    load_s = time.perf_counter() - t0
    ours = first = 0
    misses = []
    t1 = time.perf_counter()
    for n, (narration, right, decoys) in enumerate(SET):
        pool = [_candidate(n * 10 + i, d, i) for i, d in enumerate([*decoys, right])]  # decoys first
        sc = Scene(index=0, text=narration, start=0, end=6, prompt="")
        best = rank(sc, pool, embed)[0].candidate
        ours += best is pool[-1]
        first += pool[0] is pool[-1]
        if best is not pool[-1]:
            misses.append(f"  miss: {narration[:60]!r} -> {best.text()[:50]!r}")
    rank_s = time.perf_counter() - t1
    n = len(SET)
    print(f"stock matching, {n} scenes, {sum(len(d) + 1 for _, _, d in SET)} candidates, text model: {embed.name}")
    print(f"  storygen ranking   top-1 accuracy: {ours / n:6.1%}  ({ours}/{n})   target >= 85%")
    print(f"  first search result top-1 accuracy: {first / n:6.1%}  ({first}/{n})")
    print(f"  model load {load_s:.1f} s, ranking {rank_s * 1000 / n:.0f} ms per scene")
    for m in misses:
        print(m)


if __name__ == "__main__":
    main()
