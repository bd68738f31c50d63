"""The whole pipeline with the cloud writer: the real `openai` client (in the storygen process) against a
Chat Completions server on 127.0.0.1. The writer writes the idea, the script, the revision and the scene
plan (storyboard); everything else is the offline default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from _chat_server import ChatServer, chat_body
from conftest import events, invoke_cli
from storygen.media.ffmpeg import probe
from storygen.workspace import read_json

KEY = "sk-cloud-SECRET-9876543210"
IDEA = {"title": "Salt and Static", "logline": "A radio operator on a rig hears her own voice from the future.",
        "tone": "tense", "theme": "fate", "narrator_gender": "female", "narration": "first_person",
        "voice_hint": "urgent", "scores": [81, 72, 64, 70, 66, 61, 55, 83, 79, 60, 74, 69]}
SENTENCES = [f"Night {i} on the rig, the radio hissed and I wrote down every word it said to me." for i in range(40)]


def _reply(body: dict) -> dict:
    user = body["messages"][-1]["content"]
    schema = json.dumps((body.get("response_format") or {}).get("json_schema", {}))
    if '"scores"' in schema:
        return {"body": chat_body(json.dumps(IDEA), model=body["model"])}
    if '"scenes"' in schema or "numbered scene" in user:
        n = len(re.findall(r"^\d+: ", user, flags=re.M))
        vis = {"art_style": "moody oil painting, storm light", "characters": [{"name": "Mara", "description": "radio operator, red coat"}],
               "scenes": [{"index": i, "prompt": f"offshore rig in a storm, radio room {i}", "camera": "pan_left", "mood": "tense"}
                          for i in range(n)]}
        return {"body": chat_body(json.dumps(vis), model=body["model"])}
    if "<script>" in user:  # the revision: hand the script back, with one sentence made simpler
        script = user.split("<script>", 1)[1].split("</script>", 1)[0].strip()
        return {"body": chat_body(script.replace("hissed and I wrote down", "hissed. I wrote down", 1), model=body["model"])}
    return {"body": chat_body(" ".join(SENTENCES[:7]), model=body["model"])}  # 7 x 17 = 119 words


def test_cloud_writer_drives_every_writing_stage(tmp_path: Path):
    out = tmp_path / "story"
    with ChatServer() as server:
        server.default = _reply
        r = invoke_cli("make", "A radio operator hears a voice from the future", "-o", str(out), "--json",
                    "-c", "writer.provider=openai", "-c", f"writer.base_url={server.base_url}",
                    "-c", "script.target_words=120", "-c", "script.min_words=100", "-c", "script.max_words=140",
                    env={"OPENAI_API_KEY": KEY})
    assert r.returncode == 0, r.stderr[-3000:]
    man = read_json(out / "manifest.json")["stages"]
    for stage in ("idea", "script", "revised", "scenes"):
        assert man[stage]["provider"] == "openai", stage
        assert man[stage]["info"]["prompt_tokens"] > 0 and man[stage]["info"]["cost_usd"] > 0  # tokens and cost recorded
    assert all(req["headers"]["authorization"] == f"Bearer {KEY}" for req in server.requests)
    assert {req["json"]["model"] for req in server.requests} == {"gpt-4o-mini"}
    plan = read_json(out / "scenes" / "scenes.json")
    assert plan["planner"] == "writer" and plan["style"]["art_style"].startswith("moody oil painting")
    assert all(s["prompt"].startswith("offshore rig") and s["camera"] == "pan_left" for s in plan["scenes"])
    assert "hissed. I wrote down" in (out / "revised" / "script.txt").read_text()
    assert (out / "revised" / "changes.md").read_text().strip()
    assert probe(out / "final.mp4").duration > 30
    # the key never lands anywhere
    for f in out.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f
    assert KEY not in r.stdout + r.stderr
    assert [e for e in events(r.stdout) if e.get("event") == "finished"]
