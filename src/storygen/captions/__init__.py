"""Caption text, script-to-audio word alignment and caption files (words.json, SRT, WebVTT, ASS)."""

from storygen.captions.text import normalise_word, script_words, speakable_text

__all__ = ["normalise_word", "script_words", "speakable_text"]
