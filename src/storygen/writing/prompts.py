"""Prompt templates: ``storygen/prompts/*.txt`` (string.Template, ``$name`` fields), overridable per file
by a user folder named in ``writer.prompts_dir`` (same file names).

Every template may also use the story language's fields: ``$regions`` ("the US, Canada and Australia"),
``$language`` ("Spanish"), ``$language_line`` (" Write in Spanish (español) only." - empty for English) and
``$unit`` ("words", or "characters" for languages written without spaces)."""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Any

from storygen.errors import ConfigError
from storygen.text.language import base, info, region_names, regions, unit_name


def _user_dir(cfg: Any) -> Path | None:
    raw = str(cfg.get("writer.prompts_dir") or "").strip() if cfg is not None else ""
    if not raw:
        return None
    p = Path(raw).expanduser()
    if not p.is_dir():
        raise ConfigError(f"writer.prompts_dir '{p}' is not a folder.",
                          "point it at a folder of .txt templates named like those in storygen/prompts, or leave it empty.")
    return p


def load_template(name: str, cfg: Any = None) -> tuple[str, str]:
    """The template text for ``name`` (e.g. 'script_user') and where it came from."""
    filename = f"{name}.txt"
    user = _user_dir(cfg)
    if user is not None and (user / filename).is_file():
        return (user / filename).read_text(encoding="utf-8"), str(user / filename)
    res = resources.files("storygen.prompts").joinpath(filename)
    return res.read_text(encoding="utf-8"), f"storygen/prompts/{filename}"


def language_fields(language: str = "en") -> dict[str, str]:
    lang = info(language)
    line = "" if base(language) == "en" else f" Write in {lang.name} ({lang.native}) only."
    fields_line = "" if base(language) == "en" else (
        f" Write title, logline, tone, theme and voice_hint in {lang.name}; keep the JSON keys and the "
        "narrator_gender and narration values in English.")
    return {"regions": region_names(regions(language)), "language": lang.name, "language_line": line,
            "unit": unit_name(language), "fields_line": fields_line}


def render(name: str, cfg: Any = None, *, language: str = "en", **fields: Any) -> str:
    """Fill a template (with ``language_fields(language)`` too). An override that uses an unknown ``$field`` gets a
    clear ConfigError."""
    text, origin = load_template(name, cfg)
    fields = {**language_fields(language), **fields}
    try:
        return string.Template(text).substitute({k: str(v) for k, v in fields.items()}).strip()
    except KeyError as e:
        raise ConfigError(f"Prompt template '{origin}' uses an unknown field ${e.args[0]}.",
                          f"use only: {', '.join('$' + k for k in sorted(fields)) or '(none)'}; write $$ for a literal $.") from None
    except ValueError as e:
        raise ConfigError(f"Prompt template '{origin}' has a bad '$' ({e}).", "write $$ for a literal dollar sign.") from None
