"""Script-to-audio word alignment and caption files (words.json, SRT, WebVTT, ASS). The caption words
themselves (``script_words``, ``normalise_word``) are in ``storygen.text.words``."""
