from pathlib import Path

import pytest

from storygen.config import load_config, mask
from storygen.errors import ConfigError


def test_defaults_follow_the_spec():
    cfg = load_config(None, [], env={})
    assert cfg.get("voice.target_lufs") == -16.0
    assert (cfg.get("voice.pad_start"), cfg.get("voice.pad_end")) == (0.5, 1.0)
    assert cfg.get("writer.temperature") == 0.9 and cfg.get("writer.max_tokens") == 800
    assert (cfg.get("render.width"), cfg.get("render.height"), cfg.get("render.fps")) == (1080, 1920, 30)


def test_overrides_are_typed_and_checked():
    cfg = load_config(None, ["voice.provider=elevenlabs", "render.fps=24", "voice.pad_end=1.5", "revise.llm=true"], env={})
    assert cfg.get("voice.provider") == "elevenlabs"
    assert cfg.get("render.fps") == 24 and isinstance(cfg.get("render.fps"), int)
    assert cfg.get("voice.pad_end") == 1.5
    from storygen.stages.base import wants_writer

    assert wants_writer(cfg, cfg.get("revise.llm")) is True
    assert wants_writer(load_config(None, [], env={}), "auto") is False  # the embedded writer is not asked
    for bad in ("nonsense", "voice.nope=1", "nosection.key=1", "render.fps=fast", "voice.with_timestamps=maybe"):
        with pytest.raises(ConfigError) as e:
            load_config(None, [bad], env={})
        assert "\n" not in str(e.value) and "Fix:" in str(e.value)


def test_toml_file_and_unknown_keys(tmp_path: Path):
    good = tmp_path / "storygen.toml"
    good.write_text('[writer]\nprovider = "openai"\nmodel = "gpt-4o-mini"\n[render]\nloudness = -16\n')
    cfg = load_config(good, [], env={})
    assert cfg.get("writer.provider") == "openai" and cfg.get("render.loudness") == -16.0
    bad = tmp_path / "bad.toml"
    bad.write_text("[writer]\nprovidr = 'x'\n")
    with pytest.raises(ConfigError, match="providr"):
        load_config(bad, [], env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[writer\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, [], env={})


def test_secrets_come_from_env_and_are_never_public():
    cfg = load_config(None, [], env={"OPENAI_API_KEY": "sk-test-SECRET-123456", "ELEVENLABS_API_KEY": "el-SECRET-abcdef"})
    assert cfg.get("writer.api_key") == "sk-test-SECRET-123456"
    assert "api_key" not in cfg.public_section("writer") and "api_key" not in cfg.public_section("voice")
    red = cfg.redact("failed with key sk-test-SECRET-123456 and el-SECRET-abcdef")
    assert "SECRET" not in red
    assert "SECRET" not in mask("sk-test-SECRET-123456")
