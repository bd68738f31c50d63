"""Speed options for the diffusers backends: the persistent compile cache and the compile setting."""

from __future__ import annotations

import os

import pytest

from storygen.errors import ConfigError
from storygen.providers import accel


def test_compile_cache_goes_under_the_storygen_cache_unless_the_user_chose_one(tmp_path):
    env = {"STORYGEN_CACHE": str(tmp_path / "sg")}
    assert accel.compile_cache_dir(env) == tmp_path / "sg" / "torch-compile"
    assert accel.inductor_env(env) == {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "sg" / "torch-compile")}
    assert env == {"STORYGEN_CACHE": str(tmp_path / "sg")}  # read, never written
    env["TORCHINDUCTOR_CACHE_DIR"] = str(tmp_path / "mine")  # a user's own choice is kept
    assert accel.compile_cache_dir(env) == tmp_path / "mine" and accel.inductor_env(env) == {}
    env["STORYGEN_COMPILE_CACHE"] = str(tmp_path / "explicit")
    cache_dir_utils = pytest.importorskip("torch._inductor.runtime.cache_dir_utils")
    env["TORCHINDUCTOR_CACHE_DIR"] = cache_dir_utils.default_cache_dir()  # what torch sets on first use
    assert accel.compile_cache_dir(env) == tmp_path / "explicit"  # torch's temp default is replaced
    assert accel.inductor_env(env) == {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "explicit")}


def test_nothing_in_accel_writes_the_process_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("STORYGEN_CACHE", str(tmp_path / "sg"))
    before = dict(os.environ)
    assert accel.compile_cache_dir() == tmp_path / "sg" / "torch-compile"  # os.environ by default
    accel.inductor_env(os.environ)
    accel.use_persistent_caches()
    assert dict(os.environ) == before and not (tmp_path / "sg").exists()
    torch_config = pytest.importorskip("torch._inductor.config")
    assert torch_config.fx_graph_cache is True  # switched on through torch's config, not the environment


def test_compile_setting():
    assert accel.wants_compile("auto", "cuda:0") and not accel.wants_compile("auto", "cpu")
    assert accel.wants_compile("on", "cpu") and not accel.wants_compile("off", "cuda")
    with pytest.raises(ConfigError, match="compile=auto, on or off"):
        accel.wants_compile("fast", "cuda")
    with pytest.raises(ConfigError, match="guidance_cutoff"):
        accel.GuidanceCutoff(object(), 1.5)
