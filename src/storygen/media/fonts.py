"""The bundled open font (Fjalla One, SIL OFL, from the pip package ``font-fjallaone``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from storygen.errors import MediaError

FAMILY = "Fjalla One"


@lru_cache(maxsize=1)
def caption_font() -> tuple[str, Path, Path]:
    """(family name for ASS styles, folder to pass as libass ``fontsdir``, path of the TTF)."""
    try:
        import font_fjallaone
    except ImportError as e:
        raise MediaError("The caption font package is missing.", "pip install font-fjallaone==0.1.7") from e
    folder = Path(font_fjallaone.font_directory)
    ttfs = sorted(folder.glob("*.ttf"))
    if not ttfs:
        raise MediaError(f"No font file in '{folder}'.", "reinstall font-fjallaone (pip install --force-reinstall font-fjallaone==0.1.7).")
    return FAMILY, folder, ttfs[0]
