"""Fonts for captions and thumbnails: the bundled Fjalla One (SIL OFL, ``font-fjallaone``) for Latin text, and for
other scripts the Noto fonts (SIL OFL) that the ``lang-*`` extras install. ``font_for`` picks, among the installed
ones, a face with a glyph for every letter, mark, digit and punctuation of the text, so nothing prints as a box."""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from storygen.errors import MediaError

FAMILY = "Fjalla One"

#: (module, the storygen extra that installs it, file patterns inside the module's folder), in fallback order
PACKAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("font_fjallaone", "", ("*.ttf", "*/*.ttf")),
    ("fontpkg_noto_sans", "lang-noto-sans", ("files/NotoSans[[]*.ttf",)),
    ("fontpkg_noto_sans_arabic", "lang-arabic", ("files/*.ttf",)),
    ("fontpkg_noto_sans_devanagari", "lang-indic", ("files/*.ttf",)),
    ("fontpkg_noto_sans_thai", "lang-thai", ("files/*.ttf",)),
    ("noto_cjk_sans_otc", "lang-cjk", ("*.ttc",)),
)
#: the face a language reads best in (CJK faces share their glyph set but draw Han the local way)
LANGUAGE_FAMILIES = {
    "ja": "Noto Sans CJK JP", "zh": "Noto Sans CJK SC", "zh-TW": "Noto Sans CJK TC", "zh-HK": "Noto Sans CJK HK",
    "ko": "Noto Sans CJK KR", "ar": "Noto Sans Arabic", "fa": "Noto Sans Arabic", "hi": "Noto Sans Devanagari",
    "th": "Noto Sans Thai", "ru": "Noto Sans", "uk": "Noto Sans", "vi": "Noto Sans",
}
#: the first word of a Unicode character name -> the extra whose font draws that script
SCRIPT_EXTRAS = {
    "CJK": "lang-cjk", "HIRAGANA": "lang-cjk", "KATAKANA": "lang-cjk", "HANGUL": "lang-cjk", "IDEOGRAPHIC": "lang-cjk",
    "FULLWIDTH": "lang-cjk", "HALFWIDTH": "lang-cjk", "BOPOMOFO": "lang-cjk", "ARABIC": "lang-arabic",
    "DEVANAGARI": "lang-indic", "THAI": "lang-thai", "CYRILLIC": "lang-noto-sans", "GREEK": "lang-noto-sans",
    "LATIN": "lang-noto-sans",
}


@dataclass(frozen=True)
class Face:
    family: str
    path: Path
    index: int  # face index inside a collection (.ttc)
    extra: str  # "" = installed by default


class ChosenFont(NamedTuple):
    family: str  # the name libass and ASS styles know it by
    fonts_dir: Path  # the folder to pass to libass as ``fontsdir``
    path: Path  # the font file (TTF/OTF/TTC) for Pillow


@lru_cache(maxsize=1)
def caption_font() -> tuple[str, Path, Path]:
    """(family name for ASS styles, folder to pass as libass ``fontsdir``, path of the TTF) of the Latin font."""
    try:
        import font_fjallaone
    except ImportError as e:
        raise MediaError("The caption font package is missing.", "pip install font-fjallaone==0.1.7") from e
    folder = Path(font_fjallaone.font_directory)
    ttfs = sorted(folder.glob("*.ttf"))
    if not ttfs:
        raise MediaError(f"No font file in '{folder}'.", "reinstall font-fjallaone (pip install --force-reinstall font-fjallaone==0.1.7).")
    return FAMILY, folder, ttfs[0]


def _module_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    locs = list(spec.submodule_search_locations or []) if spec else []
    return Path(locs[0]) if locs else None


@lru_cache(maxsize=1)
def installed_faces() -> tuple[Face, ...]:
    """Every face of the packaged fonts that are installed, in fallback order (monospaced CJK faces left out)."""
    from PIL import ImageFont

    faces: list[Face] = []
    for module, extra, patterns in PACKAGES:
        folder = _module_dir(module)
        if folder is None:
            continue
        files = sorted({p for pat in patterns for p in folder.glob(pat)})
        for path in files:
            for index in range(32 if path.suffix.lower() == ".ttc" else 1):
                try:
                    family = ImageFont.truetype(os.fspath(path), 16, index=index).getname()[0] or ""
                except OSError:
                    break
                if family and "Mono" not in family:
                    faces.append(Face(family, path, index, extra))
    return tuple(faces)


@lru_cache(maxsize=16)
def _probe_font(path: Path, index: int):
    from PIL import ImageFont

    font = ImageFont.truetype(os.fspath(path), 24, index=index, layout_engine=ImageFont.Layout.BASIC)
    return font, bytes(font.getmask("\U0010fffd"))  # a private-use code point no font maps: the .notdef box


@lru_cache(maxsize=65536)
def has_glyph(path: Path, index: int, ch: str) -> bool:
    """Whether the face draws ``ch`` with a glyph of its own (not the .notdef box)."""
    font, notdef = _probe_font(path, index)
    try:
        return bytes(font.getmask(ch)) != notdef
    except (OSError, ValueError):
        return False


def needed_chars(text: str) -> set[str]:
    """The characters a font must draw: letters, marks, digits and punctuation (spaces, controls and symbols such
    as emoji are left to the renderer's fallback)."""
    return {ch for ch in text if unicodedata.category(ch)[0] in "LMNP"}


def missing(face: Face, chars: set[str]) -> set[str]:
    return {ch for ch in chars if not has_glyph(face.path, face.index, ch)}


def _order(faces: tuple[Face, ...], language: str, preferred: str | None) -> list[Face]:
    lang = (language or "en").split("-")[0].lower()
    wanted = [preferred, LANGUAGE_FAMILIES.get(language or ""), LANGUAGE_FAMILIES.get(lang), FAMILY]
    rank = {name: i for i, name in reversed(list(enumerate(n for n in wanted if n)))}
    return sorted(faces, key=lambda f: rank.get(f.family, len(rank)))  # stable: package order after the wanted ones


def user_face(preferred: str | None) -> Face | None:
    """The user's own font file (``captions.font=/path/to/Font.ttf``) as a face, or None when it is not a file."""
    if not preferred or not Path(preferred).expanduser().is_file():
        return None
    from PIL import ImageFont

    path = Path(preferred).expanduser().resolve()
    try:
        family = ImageFont.truetype(os.fspath(path), 16).getname()[0] or path.stem
    except OSError:
        raise MediaError(f"The caption font '{path}' is not a font file Pillow can read.",
                         "set captions.font to a .ttf/.otf file, or to a font family name.") from None
    return Face(family, path, 0, "")


def font_for(text: str, language: str = "en", preferred: str | None = None) -> ChosenFont:
    """The installed packaged font that draws every character of ``text``: ``preferred`` (a family name, or the
    user's own font file) when it does, else the language's own face, else Fjalla One, else the first that does.
    When none draws every letter, MediaError naming the extra to install (a few missing punctuation or number forms
    only pick the closest)."""
    faces = installed_faces()
    own = user_face(preferred)
    if own is not None:
        faces, preferred = (own, *faces), own.family
    chars = needed_chars(text)
    best: tuple[int, Face] | None = None
    for face in _order(faces, language, preferred):
        gaps = missing(face, chars)
        if not gaps:
            return ChosenFont(face.family, face.path.parent, face.path)
        if best is None or len(gaps) < best[0]:
            best = (len(gaps), face)
    if best is None:  # not even the default font
        family, folder, ttf = caption_font()
        return ChosenFont(family, folder, ttf)
    gaps = missing(best[1], chars)
    if not any(unicodedata.category(ch) in ("Nd", "Lo", "Lu", "Ll", "Lt", "Lm", "Mn", "Mc") for ch in gaps):
        face = best[1]  # only rare punctuation or number forms ("½", "‽") are missing: the renderer's fallback draws them
        return ChosenFont(face.family, face.path.parent, face.path)
    raise _no_font_error(gaps, faces)


def caption_family_for(text: str, language: str, font: str | None) -> str:
    """The caption font's family for ``text``: ``font`` as it is when it names a system family storygen does not
    package (the user's call), else the face that draws every character, ``font`` (a packaged family or a font
    file) first; MediaError with the fix when none does."""
    if font and not is_packaged_family(font) and user_face(font) is None:
        return font
    return font_for(text, language, preferred=font or None).family


def _no_font_error(gaps: set[str], faces: tuple[Face, ...]) -> MediaError:
    sample = "".join(sorted(gaps)[:6])
    scripts = sorted({unicodedata.name(ch, "UNKNOWN").split()[0] for ch in gaps})
    installed = {f.extra for f in faces}
    extras = sorted({SCRIPT_EXTRAS[s] for s in scripts if s in SCRIPT_EXTRAS} - installed)
    what = f"No installed caption font draws {', '.join(s.title() for s in scripts)} text (e.g. '{sample}')."
    if extras:
        return MediaError(what, "install the fonts for it: pip install " + " ".join(f"'storygen[{e}]'" for e in extras))
    return MediaError(what, "storygen packages fonts for Latin, Cyrillic, Greek, Arabic, Devanagari, Thai, Chinese, "
                      "Japanese and Korean only: set captions.font to a font file that draws it (e.g. -c "
                      "captions.font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf for Hebrew).")


def is_packaged_family(family: str | None) -> bool:
    return bool(family) and any(f.family == family for f in installed_faces())


def pil_font(path: Path, size: int, family: str | None = None):
    """A Pillow font of ``path`` at ``size``; in a collection (.ttc), the face named ``family``."""
    from PIL import ImageFont

    index = 0
    if family:
        index = next((f.index for f in installed_faces() if f.path == Path(path) and f.family == family), 0)
    return ImageFont.truetype(os.fspath(path), size, index=index)
