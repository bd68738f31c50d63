"""The one sentence splitter (storygen.text.sentences) that writing, the voices and the reviser share."""

import pytest

from storygen.text.sentences import split_sentences
from storygen.text.words import script_words


@pytest.mark.parametrize("text,want", [
    ("Dr. Reyes waited. Mrs. Hale left.", ["Dr. Reyes waited.", "Mrs. Hale left."]),
    ("We met on Jan. 5th, 2024! It rained.", ["We met on Jan. 5th, 2024!", "It rained."]),
    ("It was 3 a.m. on Main St. in Ohio. Then quiet.", ["It was 3 a.m. on Main St. in Ohio.", "Then quiet."]),
    ("Bring tools, e.g. a saw. Go.", ["Bring tools, e.g. a saw.", "Go."]),
    ("J. R. Smith wrote it. I read it.", ["J. R. Smith wrote it.", "I read it."]),
    ('"Who is there?" she asked. Nobody.', ['"Who is there?" she asked.', "Nobody."]),
    ('He said "Run." Then he ran.', ['He said "Run."', "Then he ran."]),
    ("(It was late.) We slept.", ["(It was late.)", "We slept."]),
    ("Wait... what. No!", ["Wait... what.", "No!"]),
    ("Wait... Then silence… Gone?! Yes.", ["Wait...", "Then silence…", "Gone?!", "Yes."]),
    ("He said no. Then he left.", ["He said no.", "Then he left."]),
    ("She wore No. 5 that night.", ["She wore No. 5 that night."]),
    ("First line\nsecond line. Third.", ["First line", "second line.", "Third."]),
    ("One.\n\n  Two.  \n", ["One.", "Two."]),
    ("", []),
])
def test_split_sentences_text(text, want):
    assert split_sentences(text) == want


def test_sentences_are_exact_slices_of_the_text():
    text = "It  was\tlate. \"Stop!\"  she said.   Then   nothing."
    sents = split_sentences(text)
    assert sents == ["It  was\tlate.", "\"Stop!\"  she said.", "Then   nothing."]
    pos = 0
    for s in sents:  # callers find sentences back in the text (drop_signoff) or rebuild it from them
        pos = text.index(s, pos) + len(s)


def test_split_sentences_groups_caption_words_the_same_way():
    words = script_words('Dr. Smith came at 3 a.m. on Jan. 4. "Hello?" he said. He said no. Then No. 5 left!')
    groups = split_sentences(words)
    assert groups == [["Dr.", "Smith", "came", "at", "3", "a.m.", "on", "Jan.", "4."],
                      ['"Hello?"', "he", "said."], ["He", "said", "no."], ["Then", "No.", "5", "left!"]]
    assert [w for g in groups for w in g] == words  # every word once, in order: one timing per word


def test_max_words_cuts_a_long_sentence_at_a_comma_then_hard():
    words = [f"w{i}" for i in range(9)] + ["end,"] + [f"x{i}" for i in range(30)] + ["done."]
    groups = split_sentences(words, max_words=5)
    assert groups[0] == words[:10]  # past 5 words: cut at the first comma
    assert all(len(g) <= 10 for g in groups)  # no comma: cut at twice max_words
    assert [w for g in groups for w in g] == words
    assert split_sentences(words) == [words]  # without max_words a sentence is never cut
    text = " ".join(words)
    assert [s.split() for s in split_sentences(text, max_words=5)] == groups
