"""Speed options for the diffusers backends: the persistent compile cache and the compile setting."""

from __future__ import annotations

import pytest

from storygen.errors import ConfigError
from storygen.providers import accel


def test_compile_cache_goes_under_the_storygen_cache_unless_the_user_chose_one(monkeypatch, tmp_path):
    monkeypatch.delenv("STORYGEN_COMPILE_CACHE", raising=False)
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("STORYGEN_CACHE", str(tmp_path / "sg"))
    assert accel.compile_cache_dir() == tmp_path / "sg" / "torch-compile" and (tmp_path / "sg" / "torch-compile").is_dir()
    import os

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "sg" / "torch-compile")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))  # a user's own choice is kept
    assert accel.compile_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("STORYGEN_COMPILE_CACHE", str(tmp_path / "explicit"))
    cache_dir_utils = pytest.importorskip("torch._inductor.runtime.cache_dir_utils")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", cache_dir_utils.default_cache_dir())  # what torch sets on first use
    assert accel.compile_cache_dir() == tmp_path / "explicit"  # torch's temp default is replaced


def test_compile_setting():
    assert accel.wants_compile("auto", "cuda:0") and not accel.wants_compile("auto", "cpu")
    assert accel.wants_compile("on", "cpu") and not accel.wants_compile("off", "cuda")
    with pytest.raises(ConfigError, match="compile=auto, on or off"):
        accel.wants_compile("fast", "cuda")
    with pytest.raises(ConfigError, match="guidance_cutoff"):
        accel.GuidanceCutoff(object(), 1.5)
