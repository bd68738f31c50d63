"""The writing layer: ideas, scripts and revisions, provider-agnostic (only the Writer protocol is used).

Public API (what the pipeline stages and the CLI call)::

    generate_idea(writer, idea_text, cfg) -> (StoryIdea, [Completion])
    generate_ideas(writer, n, theme, cfg) -> ([StoryIdea], [Completion])
    write_script(writer, idea, cfg) -> (text, [Completion])
    revise_script(writer_or_None, script, cfg) -> (revised_text, changes_markdown, [Completion])
    count_words(text) -> int
    strip_audio_tags(text) -> str

Sentences and spoken numbers are in ``storygen.text`` (``split_sentences``, ``expand_for_speech``).
"""

from storygen.writing.ideas import condense_idea, generate_idea, generate_ideas
from storygen.writing.revise import apply_voice_rules, changes_markdown, revise_script, split_long_sentence
from storygen.writing.script import trim_to_range, write_script
from storygen.writing.text import clean_script, count_words, strip_audio_tags

__all__ = [
    "apply_voice_rules", "changes_markdown", "clean_script", "condense_idea", "count_words", "generate_idea",
    "generate_ideas", "revise_script", "split_long_sentence", "strip_audio_tags", "trim_to_range", "write_script",
]
