from storygen.text.words import normalise_word, script_words, speakable_text


def test_script_words_keep_punctuation_and_drop_tags_and_emoji():
    s = '[whispers] In the morning — Mara was "here"... 😀 Then: 30 years! ✨'
    assert script_words(s) == ["In", "the", "morning—", "Mara", "was", '"here"...', "Then:", "30", "years!"]
    assert "[whispers]" not in speakable_text(s)


def test_script_words_empty_and_symbols_only():
    assert script_words("") == []
    assert script_words("   \n ") == []
    assert script_words("😀 🎉 !!! ... — ?") == []
    assert script_words("[laughs] [sighs]") == []


def test_normalise_numbers_contractions_casing():
    assert normalise_word("30") == "thirty"
    assert normalise_word("Thirty,") == "thirty"
    assert normalise_word("1999") == "nineteen ninety nine"
    assert normalise_word("2005") == "two thousand five"
    assert normalise_word("1,000") == "one thousand"
    assert normalise_word("5th") == "fifth"
    assert normalise_word("21st") == "twenty first"
    assert normalise_word("1990s") == "nineteen nineties"
    assert normalise_word("3.5%") == "three point five percent"
    assert normalise_word("$20") == "twenty dollars"
    assert normalise_word("Don't") == normalise_word("do") + " not"
    assert normalise_word("can't") == "can not"
    assert normalise_word("won’t") == "will not"
    assert normalise_word("I'm") == "i am"
    assert normalise_word("it's") == normalise_word("its")
    assert normalise_word('"Hello,') == "hello"
    assert normalise_word("Well-known") == "well known"
    assert normalise_word("😀") == ""
