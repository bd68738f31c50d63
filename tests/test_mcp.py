"""`storygen mcp` through the official SDK's stdio client: create_story, then get_story until it is done."""

from __future__ import annotations

import json
import os
import sys
import time

import anyio
import pytest
from conftest import IDEA, SHORT_SCRIPT
from test_serve_support import FAST

pytest.importorskip("mcp")


def _data(result) -> dict:
    assert not result.isError, result.content
    if getattr(result, "structuredContent", None):
        sc = result.structuredContent
        return sc.get("result", sc) if isinstance(sc, dict) and set(sc) == {"result"} else sc
    return json.loads(result.content[0].text)


def test_mcp_create_and_poll_until_done(tmp_path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    stories = tmp_path / "stories"
    params = StdioServerParameters(command=sys.executable, args=["-m", "storygen", "mcp", "--stories", str(stories)],
                                   env={**os.environ, "HF_HUB_OFFLINE": "1"})

    async def main() -> tuple[dict, dict, dict, list[str]]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            bad = _data(await session.call_tool("create_story", {"idea": "", "config": FAST}))
            made = _data(await session.call_tool("create_story", {"idea": IDEA, "script": SHORT_SCRIPT, "config": FAST}))
            deadline = time.monotonic() + 240
            while True:
                got = _data(await session.call_tool("get_story", {"story_id": made["id"]}))
                if got["status"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline, got
                await anyio.sleep(0.5)
            listed = _data(await session.call_tool("list_stories", {}))
            again = _data(await session.call_tool("cancel_story", {"story_id": made["id"]}))
            return bad, got, {"list": listed, "cancel": again}, tools

    bad, got, more, tools = anyio.run(main)
    assert tools == ["cancel_story", "create_story", "get_story", "list_stories"]
    assert "empty" in bad["error"] and bad["fix"]
    assert got["status"] == "done", got
    final = got["files"]["final.mp4"]
    assert final.startswith(str(stories)) and os.path.getsize(final) > 10_000
    assert all(s["state"] == "done" for s in got["stages"])
    assert [s["id"] for s in more["list"]["stories"]] == [got["id"]]
    assert "nothing to cancel" in more["cancel"]["error"]
