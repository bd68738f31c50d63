"""The seams between the layers, checked on the source: imports go one way, stages never name a provider, every
registered provider keeps its protocol, and the config's provider choices are the registry's."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import storygen
from storygen.config import DEFAULTS, RULES, load_config
from storygen.errors import ConfigError
from storygen.providers import catalog
from storygen.providers.registry import REGISTRY, SECTION, provider_class

SRC = Path(storygen.__file__).parent

#: higher imports lower, never the other way: cli/serve/mcp -> service -> pipeline -> stages -> stage helpers ->
#: providers -> media/captions/text/art -> the base (models, config, errors, the story folder)
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (7, ("cli", "__main__", "doctor", "progress", "serve", "mcp")),
    (6, ("service", "queue", "engines")),
    (5, ("pipeline",)),
    (4, ("stages",)),
    (3, ("writing", "planning", "gate", "inputs")),
    (2, ("providers",)),
    (1, ("media", "captions", "text", "art")),
    (0, ("models", "config", "errors", "workspace", "layout", "lease", "providers.catalog", "prompts", "__init__")),
]


def layer_of(module: str) -> int:
    """The layer of ``storygen.<module>`` (the longest listed prefix wins)."""
    rel = module.removeprefix("storygen.") if module != "storygen" else "__init__"
    best = (-1, None)
    for rank, names in LAYERS:
        for name in names:
            if (rel == name or rel.startswith(name + ".")) and len(name) > best[0]:
                best = (len(name), rank)
    assert best[1] is not None, f"module storygen.{rel} is in no layer: add it to LAYERS"
    return best[1]


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, src: Path = SRC) -> list[tuple[int, str]]:
    """(line, module) of every storygen import in the file, at any depth (lazy imports inside functions count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, src)
    pkg = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("storygen")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if not mod.startswith("storygen"):
                continue
            # `from storygen import layout` names a module; `from storygen.x import Name` names module x
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.append((node.lineno, sub if (src.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                            or (src.parent / sub.replace(".", "/")).is_dir() else mod))
    return out


SOURCES = sorted(SRC.rglob("*.py"))


def upward_imports(src: Path) -> list[str]:
    upward = []
    for path in sorted(src.rglob("*.py")):
        mine = layer_of(module_name(path, src))
        for line, target in imports_of(path, src):
            if target == "storygen":  # `from storygen import __version__`
                continue
            if layer_of(target) > mine:
                upward.append(f"{path.relative_to(src)}:{line} imports {target} (layer {layer_of(target)} > {mine})")
    return upward


def test_imports_go_one_way():
    upward = upward_imports(SRC)
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_stages_do_not_import_each_other_and_providers_not_each_others_internals():
    bad = []
    for path in SOURCES:
        me = module_name(path)
        for line, target in imports_of(path):
            if me.startswith("storygen.stages.") and target.startswith("storygen.stages.") \
                    and target not in ("storygen.stages.base", "storygen.stages"):
                bad.append(f"{me}:{line} imports {target}")
            parts, tparts = me.split("."), target.split(".")
            if (len(parts) >= 4 and len(tparts) >= 4 and parts[1] == tparts[1] == "providers"
                    and parts[2] != tparts[2] and tparts[3] != "base"):
                bad.append(f"{me}:{line} imports another provider's module {target}")
    assert not bad, "\n".join(bad)


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The check itself can fail: a lazy import of the pipeline inside a function of a provider is flagged."""
    fake = tmp_path / "storygen"
    (fake / "providers").mkdir(parents=True)
    (fake / "pipeline.py").write_text("")
    (fake / "providers" / "x.py").write_text("def f():\n    from storygen.pipeline import run_pipeline\n")
    assert upward_imports(fake) == ["providers/x.py:2 imports storygen.pipeline (layer 5 > 2)"]
    assert layer_of("storygen.writing.script") < layer_of("storygen.pipeline")
    assert layer_of("storygen.providers.images.sdxl") < layer_of("storygen.stages.keyframes")
    assert layer_of("storygen.providers.catalog") == 0


def _provider_names() -> set[str]:
    return {name for table in REGISTRY.values() for name in table}


@pytest.mark.parametrize("folder", ["stages", "writing"])
def test_no_provider_name_in_stages_or_writing(folder):
    names = _provider_names()
    hits = []
    for path in sorted((SRC / folder).rglob("*.py")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in names:
                if re.search(rf"[\"']{re.escape(name)}[\"']", line):
                    hits.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not hits, "provider names in stage code:\n" + "\n".join(hits)


PROTOCOLS = {
    "writer": ("storygen.providers.writer.base", "Writer"),
    "voice": ("storygen.providers.voice.base", "Voice"),
    "asr": ("storygen.providers.asr.base", "ASR"),
    "images": ("storygen.providers.images.base", "ImageGenerator"),
    "motion": ("storygen.providers.motion.base", "MotionGenerator"),
    "vision": ("storygen.providers.vision.base", "VisionJudge"),
}


def _protocol(capability: str) -> type:
    import importlib

    mod, name = PROTOCOLS[capability]
    return getattr(importlib.import_module(mod), name)


def _members(proto: type) -> tuple[set[str], dict[str, inspect.Signature]]:
    attrs = {a for klass in proto.__mro__ if klass.__module__.startswith("storygen") for a in getattr(klass, "__annotations__", {})}
    methods = {n: inspect.signature(getattr(proto, n)) for n, v in vars(proto).items()
               if not n.startswith("_") and (inspect.isfunction(v) or isinstance(v, classmethod))}
    return attrs, methods


@pytest.mark.parametrize("capability,name", [(c, n) for c, t in REGISTRY.items() for n in t])
def test_every_registered_provider_keeps_its_protocol(capability, name):
    """Each backend class declares the protocol's capabilities (as class attributes, so a stage can ask before
    loading a model) and has its methods with the same parameters."""
    cfg = load_config(env={})
    try:
        cls = provider_class(capability, cfg, name)
    except Exception as e:  # an optional extra that is not installed here
        pytest.skip(f"{name}: {e}")
    attrs, methods = _members(_protocol(capability))
    missing = sorted(a for a in attrs - {"name", "version"} if not hasattr(cls, a))
    assert not missing, f"{cls.__name__} does not declare the capabilities {missing}"
    for meth, sig in methods.items():
        assert hasattr(cls, meth), f"{cls.__name__} has no {meth}()"
        want = [p for p in sig.parameters if p not in ("self", "cls")]
        got = inspect.signature(getattr(cls, meth)).parameters
        has_kwargs = any(p.kind is p.VAR_KEYWORD for p in got.values())
        lacking = [p for p in want if p not in got and not (has_kwargs and sig.parameters[p].kind in
                                                             (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD))]
        lacking = [p for p in lacking if sig.parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD,)]
        assert not lacking, f"{cls.__name__}.{meth} lacks parameters {lacking} of the protocol"


def test_config_provider_choices_are_the_registry():
    for capability, (sec, key) in SECTION.items():
        assert RULES[f"{sec}.{key}"] == tuple(REGISTRY[capability]), f"{sec}.{key}"
        assert DEFAULTS[sec][key] in REGISTRY[capability], f"default {sec}.{key} is not registered"
    assert catalog.choices() == {k: RULES[k] for k in catalog.choices()}


@pytest.mark.parametrize("pair,needle", [
    ("keyframes.provider=folder", "keyframes.provider"),  # passed validation before and failed mid-story
    ("clips.provider=sora", "clips.provider"),
    ("keyframes.compile=maybe", "keyframes.compile"),
    ("clips.compile=fast", "clips.compile"),
])
def test_unregistered_choices_fail_when_the_config_loads(pair, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(overrides=[pair], env={})


def test_a_misspelled_story_path_is_an_error(tmp_path):
    from storygen.workspace import Story

    story = Story.open_or_create(tmp_path / "s")
    assert story.path("idea/idea.json").name == "idea.json"
    assert story.path("keyframes/scene_03.png").name == "scene_03.png"
    with pytest.raises(ValueError, match="not a path of the story layout"):
        story.path("idea/ideas.json")


def test_stage_order_lives_in_one_place():
    from storygen import layout
    from storygen.pipeline import ALL_STAGES
    from storygen.progress import LABELS

    assert tuple(s.name for s in ALL_STAGES) == layout.STAGES
    assert set(LABELS) == set(layout.STAGES)
    for path in SOURCES:
        if path.name == "layout.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"idea", "script", "revised"' not in text, f"{path.relative_to(SRC)} lists the stages again"
