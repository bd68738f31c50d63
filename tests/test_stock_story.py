"""A whole story with Pixabay clips from a local server speaking Pixabay's JSON: the final video shows the served
footage, a scene with nothing usable falls back to the offline look, the credits reach metadata.json, and the key
(which Pixabay takes in the query string) is in no file of the story."""

from __future__ import annotations

import json

import pytest
from _stock_server import StockServer, pixabay_hits, pixabay_video
from test_stock import PIXABAY_KEY, dominant, make_mp4

from conftest import IDEA, SHORT_SCRIPT
from storygen import layout
from storygen.gate import middle_frame
from storygen.media.ffmpeg import probe, run_ffmpeg
from storygen.models import StoryIdea
from storygen.service import StoryRequest, make_story
from storygen.workspace import read_json


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("STORYGEN_STOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIXABAY_API_KEY", PIXABAY_KEY)
    d = tmp_path / "media"
    d.mkdir()
    with StockServer() as s:
        s.media = {"/files/red.mp4": make_mp4(d / "red.mp4", 6, "red"),
                   "/files/short.mp4": make_mp4(d / "short.mp4", 0.3, "yellow")}
        # API order puts the useless clip first; the red one is the only usable clip, so the second scene (which
        # may not repeat it) has nothing suitable
        s.routes["/api/videos/"] = pixabay_hits([
            pixabay_video(s, 1, "yellow, abstract, blur", "/files/short.mp4"),
            pixabay_video(s, 2, "lighthouse, keeper, stairs, night, sea", "/files/red.mp4"),
        ])
        yield s


def test_a_story_made_of_stock_clips_with_one_scene_drawn_offline(served, tmp_path):
    (tmp_path / "script.txt").write_text(SHORT_SCRIPT)
    out = tmp_path / "story"
    r = make_story(StoryRequest(story_idea=StoryIdea.model_validate(IDEA), script=tmp_path / "script.txt", out=out,
                                config={"clips.provider": "pixabay", "pixabay.base_url": served.url,
                                        "scenes.count": 2}))
    assert r.final is not None
    clips = read_json(out / layout.CLIPS)["clips"]
    first, second = clips
    assert first["kind"] == "video" and first["choice"]["chosen"]["page_url"].endswith("/videos/lighthouse-2/")
    assert {c["page_url"].split("/")[-2] for c in first["choice"]["candidates"]} >= {"lighthouse-2"}
    assert first["choice"]["reason"]
    assert second["kind"] == "kenburns" and second["choice"]["fallback"] == "kenburns"
    man = read_json(out / layout.MANIFEST)["stages"]["clips"]
    assert any("drawn" in w or "keyframe" in w for w in man["info"]["warnings"])
    # the final cut shows the served (red) footage in the first scene and the offline look in the second
    plan = read_json(out / layout.SCENES)["scenes"]
    for scene, colour in ((plan[0], "red"), (plan[1], None)):
        t = (scene["start"] + scene["end"]) / 2
        frame = tmp_path / f"f{scene['index']}.png"
        run_ffmpeg(["-ss", f"{t:.2f}", "-i", out / layout.FINAL, "-frames:v", "1", frame])
        from PIL import Image

        with Image.open(frame) as im:
            got = dominant(im.crop((0, 0, 1080, 700)))  # above the captions
        assert (got == colour) if colour else got != "red", (scene["index"], got)
    assert probe(out / layout.FINAL).duration > 5
    assert dominant(middle_frame(out / first["path"])) == "red"
    # credits for what is shown, in metadata and the description
    meta = read_json(out / layout.METADATA)
    assert [c["page_url"] for c in meta["credits"]] == ["https://pixabay.com/videos/lighthouse-2/"]
    assert "Credits: Video by" in meta["description"] and "Pixabay" in meta["description"]
    # the key went to the server (in the query, as Pixabay wants) and nowhere else
    assert served.hits("/api/videos/")[0]["query"]["key"] == PIXABAY_KEY
    for f in [*out.rglob("*"), *(tmp_path / "cache").rglob("*")]:
        assert PIXABAY_KEY not in f.name
        if f.is_file():
            assert PIXABAY_KEY.encode() not in f.read_bytes(), f
    assert PIXABAY_KEY not in json.dumps(read_json(out / layout.MANIFEST))
