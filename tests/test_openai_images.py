"""keyframes.provider=openai-images: the real `openai` client against a local server speaking the images API
(POST /v1/images/generations -> {"created", "data": [{"b64_json", "revised_prompt"}], "usage"})."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from _chat_server import ChatServer
from PIL import Image

from storygen.config import load_config
from storygen.errors import ProviderError
from storygen.models import Scene, StyleBible
from storygen.providers.images.openai_images import OpenAIImages
from storygen.providers.registry import REGISTRY

KEY = "sk-test-IMAGES-0123456789abcdef"


def _png(size=(1024, 1536), colour=(200, 40, 40)) -> str:
    im = Image.new("RGB", size, colour)
    for x in range(0, size[0], 64):  # some structure, so it is not a flat colour
        im.paste((20, 20, 20), (x, 0, x + 8, size[1]))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _reply(size=(1024, 1536), revised: str | None = None, usage: bool = True) -> dict:
    body: dict = {"created": int(time.time()), "data": [{"b64_json": _png(size), **({"revised_prompt": revised} if revised else {})}]}
    if usage:
        body["usage"] = {"input_tokens": 50, "output_tokens": 6240, "total_tokens": 6290,
                         "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}
    return body


SCENE = Scene(index=0, text="The sea left a green bottle at his door.", start=0, end=4,
              prompt="a green glass bottle on a doorstep by the sea, painterly digital illustration", seed=5)


def _provider(server: ChatServer | None, *extra: str, key: str | None = KEY, base: bool = True) -> OpenAIImages:
    over = ["keyframes.provider=openai-images", *extra]
    if base and server is not None:
        over.append(f"keyframes.base_url={server.base_url}")
    env = {"OPENAI_API_KEY": key} if key else {}
    cfg = load_config(overrides=over, env=env)
    return OpenAIImages(cfg.section("keyframes"), cfg)


def test_registered():
    assert REGISTRY["images"]["openai-images"].endswith("openai_images:OpenAIImages")


def test_gpt_image_1_default_portrait_size_cost_and_fit():
    with ChatServer() as s:
        s.push({"body": _reply()})
        gen = _provider(s)
        im = gen.generate(SCENE, StyleBible(), width=768, height=1344, seed=11)
    req = s.requests[0]
    assert req["path"] == "/v1/images/generations"
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["json"]["model"] == "gpt-image-1" and req["json"]["size"] == "1024x1536"
    assert "response_format" not in req["json"]  # gpt-image-1 rejects it
    assert req["json"]["prompt"].startswith("a green glass bottle")
    assert req["json"]["seed"] == 11  # a compatible server gets the seed
    assert im.size == (768, 1344) and im.mode == "RGB"
    r, g, _ = im.resize((1, 1)).getpixel((0, 0))
    assert r > 2 * g  # the served red picture, not something else
    rec = im.info["storygen_choice"]
    # 50 text tokens at $5/1M + 6240 image tokens at $40/1M
    assert rec["cost_usd"] == pytest.approx(50 * 5e-6 + 6240 * 40e-6)
    assert gen.total_cost_usd == pytest.approx(rec["cost_usd"])
    assert rec["model"] == "gpt-image-1" and rec["drawn"] == [1024, 1536]
    assert gen.draws_at_output_size is False


def test_dall_e_3_asks_for_b64_at_its_portrait_size():
    with ChatServer() as s:
        s.push({"body": _reply((1024, 1792), revised="A green bottle on a doorstep", usage=False)})
        im = _provider(s, "keyframes.model=dall-e-3").generate(SCENE, StyleBible(), width=1080, height=1920, seed=1)
    body = s.requests[0]["json"]
    assert body["model"] == "dall-e-3" and body["size"] == "1024x1792" and body["response_format"] == "b64_json"
    rec = im.info["storygen_choice"]
    assert rec["revised_prompt"] == "A green bottle on a doorstep" and rec["cost_usd"] == 0.08


def test_429_is_retried_then_succeeds():
    with ChatServer() as s:
        s.push({"status": 429, "headers": {"Retry-After": "0"}, "body": {"error": {"message": "slow down"}}},
               {"status": 429, "headers": {"Retry-After": "0"}, "body": {"error": {"message": "slow down"}}},
               {"body": _reply()})
        im = _provider(s).generate(SCENE, StyleBible(), width=64, height=112, seed=1)
    assert len(s.requests) == 3 and im.size == (64, 112)


def test_401_says_key_rejected_without_the_key():
    with ChatServer() as s:
        s.default = {"status": 401, "body": {"error": {"message": f"Incorrect API key provided: {KEY}"}}}
        with pytest.raises(ProviderError) as e:
            _provider(s).generate(SCENE, StyleBible(), width=64, height=112, seed=1)
    msg = str(e.value)
    assert "key rejected" in msg and "OPENAI_API_KEY" in msg and KEY not in msg and "\n" not in msg


def test_missing_key_names_the_variable_and_local_server_needs_none():
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        _provider(None, key=None)
    with ChatServer() as s:
        s.push({"body": _reply()})
        _provider(s, key=None).generate(SCENE, StyleBible(), width=64, height=112, seed=1)
    assert s.requests[0]["headers"]["authorization"] == "Bearer not-needed"


@pytest.mark.parametrize("body,match", [
    ({"created": 1, "data": []}, "sent no image"),
    ({"created": 1, "data": [{"b64_json": base64.b64encode(b"<html>not an image</html>").decode()}]}, "not an image"),
    ({"created": 1, "data": [{"revised_prompt": "x"}]}, "neither b64_json nor url"),
])
def test_bad_replies_are_clear_errors(body, match):
    with ChatServer() as s:
        s.push({"body": body})
        with pytest.raises(ProviderError, match=match):
            _provider(s).generate(SCENE, StyleBible(), width=64, height=112, seed=1)


def test_html_reply_is_a_clear_error():
    with ChatServer() as s:
        s.default = {"raw": "<html><body>Bad gateway</body></html>", "status": 502}
        with pytest.raises(ProviderError, match="HTTP 502") as e:
            _provider(s).generate(SCENE, StyleBible(), width=64, height=112, seed=1)
    assert KEY not in str(e.value)


def test_bad_size_is_a_config_error():
    with pytest.raises(ProviderError, match="WIDTHxHEIGHT"):
        _provider(None, "keyframes.size=tall")


def test_key_is_not_in_the_public_config():
    cfg = load_config(overrides=["keyframes.provider=openai-images"], env={"OPENAI_API_KEY": KEY})
    assert KEY not in json.dumps(cfg.public_section("keyframes"))
