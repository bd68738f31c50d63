"""The ModelHost that holds every loaded model: one load per key whatever the threads, different keys side by side."""

from __future__ import annotations

import threading

from storygen.providers import lifecycle


def test_two_threads_asking_for_the_same_key_run_the_factory_once():
    host = lifecycle.ModelHost("test")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def factory() -> object:
        calls.append(threading.current_thread().name)
        started.set()
        assert release.wait(10)  # hold the load open until the second thread is waiting on it
        return object()

    results: dict[str, object] = {}

    def ask(name: str) -> None:
        results[name] = host.load(("model", "a"), factory)

    first = threading.Thread(target=ask, args=("first",), name="first")
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=ask, args=("second",), name="second")
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the first thread's load, not loading a second copy
    release.set()
    first.join(10)
    second.join(10)
    assert calls == ["first"] and host.loads == 1
    assert results["first"] is results["second"] is host.load(("model", "a"), lambda: object())


def test_different_keys_load_side_by_side_and_forget_closes():
    host = lifecycle.ModelHost("test")
    a_started = threading.Event()
    closed: list[str] = []

    class Model:
        def __init__(self, name: str):
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    def slow_a() -> Model:
        a_started.set()
        assert b_done.wait(10)  # "a" finishes only after "b" loaded meanwhile: "a" does not block "b"
        return Model("a")

    b_done = threading.Event()
    t = threading.Thread(target=host.load, args=("a", slow_a))
    t.start()
    assert a_started.wait(10)
    host.load("b", lambda: Model("b"))
    b_done.set()
    t.join(10)
    assert sorted(map(str, host.keys())) == ["a", "b"]
    assert host.find(lambda k: k == "b")[1].name == "b"
    host.on_oom()
    assert host.keys() == [] and sorted(closed) == ["a", "b"]


def test_out_of_memory_in_a_provider_releases_the_host_and_says_what_to_change(tmp_path):
    """A CUDA OOM inside a diffusers provider's call (here SVD's pipeline, swapped for one that raises what torch
    raises) releases every model of the worker's host and becomes a one-line error with the fix; other errors
    pass through untouched."""
    import pytest
    from PIL import Image

    from storygen.config import DEFAULTS
    from storygen.errors import ProviderError
    from storygen.models import Scene
    from storygen.providers import devices
    from storygen.providers.motion.svd import SVDMotion

    host = lifecycle.ModelHost("worker")
    with lifecycle.using(host):
        host.load("other model", lambda: object())
        with pytest.raises(ValueError, match="not memory"), devices.oom_as("never", "never"):
            raise ValueError("not memory")
        assert host.keys() == ["other model"]
        svd = SVDMotion({**DEFAULTS["clips"], "model": str(tmp_path), "device": "cpu", "width": 64, "height": 64,
                         "frames": 4})

        def oom(*_a, **_k):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

        svd._load = lambda: oom  # the pipeline the provider would load
        Image.new("RGB", (64, 64), "gray").save(tmp_path / "k.png")
        scene = Scene(index=1, start=0.0, end=2.0, text="a", prompt="a lighthouse", seed=1)
        with pytest.raises(ProviderError) as e:
            svd.animate(tmp_path / "k.png", scene, tmp_path)
    assert "ran out of memory" in str(e.value) and "64x64 SVD clip" in str(e.value)
    assert "clips.provider=kenburns" in e.value.fix
    assert host.keys() == []  # released
