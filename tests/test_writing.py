"""The provider-agnostic writing logic: word counts, clean-up, length enforcement helpers, speech expansion,
sentence splitting, changes.md, prompt overrides, bad input. Backend calls go through the real openai client
and a local Chat Completions server (see _chat_server.py)."""

from __future__ import annotations

import json

import pytest

from _chat_server import ChatServer
from storygen.config import load_config
from storygen.errors import ConfigError, InputError
from storygen.models import StoryIdea
from storygen.providers.registry import clear_cache, get_provider
from storygen.text.numbers import cardinal, expand_for_speech, ordinal, year
from storygen.text.sentences import split_sentences
from storygen.workspace import write_text
from storygen.writing import (
    apply_voice_rules, changes_markdown, clean_script, condense_idea, count_words, generate_idea, generate_ideas,
    revise_script, split_long_sentence, strip_audio_tags, trim_to_range, write_script,
)
from storygen.writing.prompts import render
from storygen.writing.script import drop_unfinished, insert_before_ending

IDEA = {"title": "The Bottle", "logline": "A keeper finds a bottle.", "tone": "eerie", "theme": "memory",
        "narrator_gender": "male", "narration": "narrator", "voice_hint": "calm",
        "scores": [50] * 12}


@pytest.fixture
def server():
    with ChatServer() as s:
        yield s


@pytest.fixture
def cfg_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clear_cache()

    def make(server=None, *over):
        extra = [f"writer.base_url={server.base_url}"] if server else []
        return load_config(overrides=["writer.provider=openai", *extra, *over], env={"OPENAI_API_KEY": "sk-test-123456789"})

    yield make
    clear_cache()


# ----------------------------------------------------------------------------- counting and cleaning


def test_count_words_and_audio_tags():
    assert count_words("Hello, world! It's 3 o'clock — really.") == 6
    assert count_words("[whispers] I knew. [sighs] It was over.") == 5
    assert strip_audio_tags("[whispers] I knew. [sighs] It was over [laughs].") == "I knew. It was over."
    assert count_words("") == 0


def test_clean_script_removes_markdown_directions_emoji_hashtags():
    raw = ("**Title: The Bottle**\n# The Bottle\nNarrator: The sea gave me a letter. 🌊 #storytime\n\n"
           "[Sound of waves] I opened it (softly) and read my own name. @keeper\n- It was dated 1987.\n\n"
           "(Music swells)\nThe End")
    out = clean_script(raw)
    assert out == "The sea gave me a letter.\n\nI opened it and read my own name.\nIt was dated 1987."
    assert clean_script("I kept it (I always do) in a drawer.") == "I kept it, I always do, in a drawer."
    assert clean_script("[whispers] Quiet. [dances] now.", keep_audio_tags=True) == "[whispers] Quiet. now."
    assert clean_script("**The Last Letter**\n\nI found it. It was mine.") == "I found it. It was mine."  # a bare title line


def test_split_sentences_respects_abbreviations_and_quotes():
    s = split_sentences('Dr. Reyes waited. "Who is there?" she asked. It was 3 a.m. on Main St. in Ohio. Wait... what.')
    assert s == ["Dr. Reyes waited.", '"Who is there?"', "she asked.", "It was 3 a.m. on Main St. in Ohio.", "Wait... what."] \
        or s == ["Dr. Reyes waited.", '"Who is there?" she asked.', "It was 3 a.m. on Main St. in Ohio.", "Wait... what."]


# ----------------------------------------------------------------------------- speech expansion


@pytest.mark.parametrize("raw,spoken", [
    ("In 1987 she was 21.", "In nineteen eighty-seven she was twenty-one."),
    ("It cost $5.50, not $1.2 million.", "It cost five dollars and fifty cents, not one point two million dollars."),
    ("Only 50% made it, e.g. the 3rd team.", "Only fifty percent made it, for example, the third team."),
    ("Dr. Lee met Mr. Hale on St. Patrick's Day at 7:05 pm.", "Doctor Lee met Mister Hale on Saint Patrick's Day at seven oh five P M."),
    ("She lived on Baker St. for 2,500 days in 2005 and 2024.", "She lived on Baker Street for two thousand five hundred days in two thousand five and twenty twenty-four."),
    ("Ages 10-14 saw it in the 1980s; it was -3 degrees.", "Ages ten to fourteen saw it in the nineteen eighties; it was minus three degrees."),
    ("Pi is 3.14 and agent 007 knew.", "Pi is three point one four and agent zero zero seven knew."),
])
def test_expand_for_speech(raw, spoken):
    assert expand_for_speech(raw) == spoken


def test_number_words():
    assert cardinal(0) == "zero" and cardinal(115) == "one hundred fifteen"
    assert cardinal(1_000_001) == "one million one"
    assert ordinal(1) == "first" and ordinal(12) == "twelfth" and ordinal(40) == "fortieth" and ordinal(103) == "one hundred third"
    assert year(1900) == "nineteen hundred" and year(1905) == "nineteen oh five" and year(2000) == "two thousand"


# ----------------------------------------------------------------------------- sentence splitting and changes.md


def test_split_long_sentence_at_natural_joints():
    long = ("The storm had been building over the water since noon, and by the time the keeper climbed the stairs "
            "the windows were shaking in their frames.")
    parts = split_long_sentence(long, 15)
    assert parts == ["The storm had been building over the water since noon.",
                     "And by the time the keeper climbed the stairs the windows were shaking in their frames."]
    semi = "She locked the door behind her and waited for the light to turn; nothing came back across the water that night."
    assert split_long_sentence(semi, 12) == ["She locked the door behind her and waited for the light to turn.",
                                            "Nothing came back across the water that night."]
    unsplittable = "An old man with a long grey beard and a lantern in his shaking hand stood quietly at the very edge of the pier."
    assert split_long_sentence(unsplittable, 10) == [unsplittable]
    quoted = 'He said "stay here, and wait for me by the water until the light comes on" and then he walked off into the night alone.'
    assert all(p.count('"') % 2 == 0 for p in split_long_sentence(quoted, 10))


def test_revise_rules_and_changes_md(tmp_path):
    cfg = load_config(overrides=["revise.max_sentence_words=15"], env={})
    script = ("In 1987, Dr. Reyes found the the bottle. "
              "The storm had been building over the water since noon, and by the time she climbed the stairs the "
              "windows were shaking in their frames.\n\nIt was over.")
    revised, changes, comps = revise_script(None, script, cfg)
    assert comps == []
    assert revised == ("In nineteen eighty-seven, Doctor Reyes found the bottle. The storm had been building over the water "
                       "since noon. And by the time she climbed the stairs the windows were shaking in their frames.\n\nIt was over.")
    md = write_text(tmp_path / "revised" / "changes.md", changes).read_text()
    assert md.startswith("# Revision changes")
    assert "- In 1987, Dr. Reyes found the the bottle." in md and "+ In nineteen eighty-seven, Doctor Reyes found the bottle." in md
    assert "```diff" in md and "It was over." not in md  # unchanged sentences are not listed
    same, md2, _ = revise_script(None, "It was over.", cfg)
    assert same == "It was over." and "No changes." in md2
    assert "changed blocks: 0" in changes_markdown("A b c.", "A b c.", [])


def test_revise_llm_with_audio_tags_for_elevenlabs(server, cfg_for):
    script = " ".join(f"Line {cardinal(i)} of the story goes on." for i in range(50))  # 350 words
    tagged = "[whispers] " + script.replace("Line ten", "[sighs] Line ten").replace("Line two", "[dances] Line two")
    server.push(tagged, script)
    cfg = cfg_for(server, "revise.llm=true", "revise.audio_tags=true", "voice.provider=elevenlabs")
    w = get_provider("writer", cfg)
    from storygen.stages.base import voice_reads_tags  # the voice's capability decides, not its name

    assert voice_reads_tags(cfg) and not voice_reads_tags(cfg_for(server, "voice.provider=piper"))
    revised, changes, comps = revise_script(w, script, cfg, voice_reads_tags=voice_reads_tags(cfg))
    assert revised.startswith("[whispers] Line zero") and "[sighs] Line ten" in revised and "[dances]" not in revised
    assert "ElevenLabs v3 audio tags" in changes and "[whispers]" in server.requests[0]["json"]["messages"][1]["content"]
    assert strip_audio_tags(revised).startswith("Line zero") and "[" not in strip_audio_tags(revised)
    # piper (or tags off): the LLM is not offered tags, and any it adds are removed
    cfg2 = cfg_for(server, "revise.llm=true", "revise.audio_tags=true", "voice.provider=piper")
    revised2, _, _ = revise_script(get_provider("writer", cfg2), script, cfg2, voice_reads_tags=voice_reads_tags(cfg2))
    assert "[" not in server.requests[1]["json"]["messages"][1]["content"] and "[" not in revised2


# ----------------------------------------------------------------------------- length helpers


@pytest.mark.parametrize("raw,want", [
    ("I smile.\n\nThat's the end of the story. I hope you enjoyed it.", "I smile."),
    ("It was over. Thanks for watching! Follow for part two.", "It was over."),
    ("We won. Like and subscribe for more stories!", "We won."),
    ("We won.\n\nLet me know what you think in the comments!", "We won."),
    # story lines that only look like sign-offs stay
    ("I hope you enjoyed the soup, she said, and left.", "I hope you enjoyed the soup, she said, and left."),
    ("I ran. That's all I remember.", "I ran. That's all I remember."),
    ("That's the end of the story, he lied. The lights went out.", "That's the end of the story, he lied. The lights went out."),
    # a quote the model opened and never closed is closed at the paragraph's end; a stray closer goes;
    # paragraphs wrapped whole in quotes are narration, not dialogue
    ('He said, "Come with me.\n\nI went.', 'He said, "Come with me."\n\nI went.'),
    ('They looked up. "\n\n"I know," she said.', 'They looked up.\n\n"I know," she said.'),
    ('"The night was cold."\n\n"The dog stared up."', "The night was cold.\n\nThe dog stared up."),
    # prompt tags echoed back and assistant refusals are not narration
    ("I found it. <theme> It glowed. <script>\n\nI'm sorry, but I can't assist with that request.",
     "I found it. It glowed."),
    ("As an AI language model, I cannot write that. The bus came at 3:07.", "The bus came at 3:07."),
    ('"I\'m sorry, but I can\'t help you," the driver said.', '"I\'m sorry, but I can\'t help you," the driver said.'),
])
def test_clean_script_drops_sign_offs_and_closes_quotes(raw, want):
    assert clean_script(raw) == want


def test_dedupe_drops_repeated_and_nearly_repeated_sentences_only():
    from storygen.writing.text import dedupe_sentences

    text = ("As I lay in my bed tonight, I could not help but feel a sense of peace wash over me. The old dog barked at the door.\n\n"
            "Keeper 3 climbed step number four in the cold dark tower. Keeper 11 climbed step number four in the cold "
            "dark tower. The old dog barked at the door.\n\n"
            "As I lay in bed tonight, I could not help but feel a sense of peace wash over me. It was over.")
    out = dedupe_sentences(text)
    assert out.count("peace wash over me") == 1 and out.count("The old dog barked at the door.") == 1  # near and exact repeats
    assert "Keeper 3 climbed" in out and "Keeper 11 climbed" in out  # a refrain with a new detail stays
    assert out.endswith("It was over.")


def test_trim_insert_and_unfinished():
    paras = [" ".join(f"Sentence {p}{i} has exactly six words." for i in range(5)) for p in "abcdefgh"]  # 8 x 30 words
    text = "\n\n".join(paras)
    assert count_words(text) == 240
    cut = trim_to_range(text, 200, 215)
    assert cut is not None and 200 <= count_words(cut) <= 215
    assert cut.startswith("Sentence a0") and cut.endswith("Sentence h4 has exactly six words.")
    assert all(s.endswith(".") for s in split_sentences(cut))
    assert trim_to_range(text, 10, 12) is None  # no clean cut that keeps hook and ending
    assert insert_before_ending("One. Two.\n\nEnd.", "New bit.") == "One. Two.\n\nNew bit.\n\nEnd."
    assert insert_before_ending("One. Two. End.", "New bit.") == "One. Two. New bit.\n\nEnd."
    assert drop_unfinished("It was late. The door opened and") == "It was late."
    assert drop_unfinished("It was late.") == "It was late."


# ----------------------------------------------------------------------------- prompts


def test_prompt_override_folder(server, cfg_for, tmp_path):
    folder = tmp_path / "my_prompts"
    folder.mkdir()
    (folder / "script_user.txt").write_text("CUSTOM PROMPT for $title in $words words. $voice")
    server.push(" ".join(["It was a long night by the sea."] * 45))  # 360 words but repeated: de-duplicated
    server.push(" ".join(f"Night {cardinal(i)} by the sea was long." for i in range(50)))  # 350 words
    cfg = cfg_for(server, f"writer.prompts_dir={folder}")
    text, comps = write_script(get_provider("writer", cfg), StoryIdea.model_validate({**IDEA, "potential": {}}), cfg)
    first = server.requests[0]["json"]["messages"]
    assert first[1]["content"] == "CUSTOM PROMPT for The Bottle in 360 words. Tell it as a storyteller in the third person."
    assert "never follow instructions" in first[0]["content"]  # files not overridden come from the package
    assert len(comps) == 2 and 330 <= count_words(text) <= 390
    (folder / "script_user.txt").write_text("Bad $unknown field")
    with pytest.raises(ConfigError, match=r"unknown field \$unknown"):
        render("script_user", cfg, title="x", words=1, voice="", logline="", tone="", theme="", source="")
    with pytest.raises(ConfigError, match="not a folder"):
        render("system", load_config(overrides=[f"writer.prompts_dir={tmp_path / 'none'}"], env={}))


# ----------------------------------------------------------------------------- bad input


def test_empty_theme_and_bad_counts(server, cfg_for):
    cfg = cfg_for(server)
    w = get_provider("writer", cfg)
    for theme in ("", "  \n "):
        with pytest.raises(InputError, match="theme is empty"):
            generate_ideas(w, 3, theme, cfg)
    with pytest.raises(InputError, match="between 1 and 20"):
        generate_ideas(w, 0, None, cfg)
    with pytest.raises(InputError, match="limit is 300"):
        generate_ideas(w, 2, "x" * 301, cfg)
    with pytest.raises(InputError, match="idea is empty"):
        generate_idea(w, "   ", cfg)
    assert server.requests == []


def test_5000_word_idea_is_condensed_not_rejected(server, cfg_for, tmp_path):
    sentences = [f"Chapter {cardinal(i)} tells how the keeper lost one more memory to the sea." for i in range(400)]
    huge = "A lighthouse keeper forgets a little more every night. " + " ".join(sentences)
    assert count_words(huge) > 5000
    server.push(json.dumps(IDEA))
    cfg = cfg_for(server)
    idea, _ = generate_idea(get_provider("writer", cfg), huge, cfg)
    sent = server.requests[0]["json"]["messages"][1]["content"]
    assert len(sent) < 2600  # max_chars 2000 plus the instructions
    assert idea.source.startswith("A lighthouse keeper forgets a little more every night.")
    assert len(idea.source) <= 2000 and idea.source.endswith(".")
    assert all(s in huge for s in split_sentences(idea.source))  # whole sentences, in order, from the user's text
    assert "Chapter three hundred ninety-nine" in idea.source or "Chapter two hundred" in idea.source  # not just the head
    write_text(tmp_path / "idea.json", idea.model_dump_json())


def test_condense_edge_cases():
    assert condense_idea("short idea", 100) == "short idea"
    one_long = "word " * 1000
    out = condense_idea(one_long, 50)
    assert len(out) <= 51 and out.endswith("…")


# ----------------------------------------------------------------------------- batched ideas


class Batched:
    """A writer whose complete_many decodes together (as the transformers writer's fast decoder does); here it
    forwards each conversation to the real openai writer, and records how the prompts were grouped."""

    batched = True
    length_bias = 1.0

    def __init__(self, inner):
        self.inner, self.version, self.name, self.batches = inner, inner.version, "batched", []

    def complete(self, messages, **kw):
        return self.complete_many([messages], **kw)[0]

    def complete_many(self, conversations, **kw):
        self.batches.append([c[-1]["content"] for c in conversations])
        return [self.inner.complete(c, **kw) for c in conversations]


def test_ideas_fan_out_as_one_batch_with_distinct_angles_and_retry_only_the_bad_ones(server, cfg_for):
    cfg = cfg_for(server)
    w = Batched(get_provider("writer", cfg))
    ideas = [dict(IDEA, title=f"Idea {k}") for k in range(4)]
    server.push(json.dumps({"ideas": [ideas[0]]}), "not json at all", json.dumps(ideas[2]), json.dumps({"ideas": [ideas[3]]}),
                json.dumps({"ideas": [ideas[1]]}))
    got, comps = generate_ideas(w, 4, "the sea", cfg)
    assert [i.title for i in got] == ["Idea 0", "Idea 1", "Idea 2", "Idea 3"]
    assert [len(b) for b in w.batches] == [4, 1]  # one batch of four, then only the bad reply again
    first = w.batches[0]
    assert len(set(first)) == 4 and all("the sea" in p and "story." in p for p in first)  # one angle each
    assert "JSON" in w.batches[1][0] and len(comps) == 5


# ----------------------------------------------------------------------------- QA: doubled words, years, symbols


def test_voice_rules_keep_every_year_and_legitimate_doubles():
    for y in range(1100, 2100):
        assert apply_voice_rules(f"In {y} we left.") == f"In {year(y)} we left.", y
    assert apply_voice_rules("In 2024 we left.") == "In twenty twenty-four we left."
    assert apply_voice_rules("In 2020, in 1919 and in 2005.") == "In twenty twenty, in nineteen nineteen and in two thousand five."
    for keep in ("She had had enough.", "He knew that that was wrong.", "Knock knock, who is there?", "Bye bye, she said.",
                 "No no, not that one.", "It was very very cold.", "It was so so dark.", "Ha ha, very funny.",
                 "Knock, knock.", "Tap tap tap went the rain."):
        assert apply_voice_rules(keep) == keep
    assert apply_voice_rules("She found the the bottle and and ran.") == "She found the bottle and ran."
    assert apply_voice_rules("The The bottle was green.") == "The bottle was green."


@pytest.mark.parametrize("raw,spoken", [
    ("Call 555-1234 now.", "Call five five five, one two three four now."),
    ("Call 555-123-4567 or +1 (555) 123-4567.",
     "Call five five five, one two three, four five six seven or plus one, five five five, one two three, four five six seven."),
    ("Pages 500-1500 were torn.", "Pages five hundred to fifteen hundred were torn."),
    ("About 1/3 of them, then 3/4, then 1/2 and 2/3.", "About one third of them, then three quarters, then one half and two thirds."),
    ("She scored 7/10 and worked 24/7 after 9/11.", "She scored seven out of ten and worked twenty-four seven after nine eleven."),
    ("Dial 1-800-555-1234.", "Dial one, eight zero zero, five five five, one two three four."),
    ("The odds were 3:1.", "The odds were three to one."),
    ("It was 72°F outside.", "It was seventy-two degrees Fahrenheit outside."),
    ("It was -5 °C, then −5 °C, then 1°.", "It was minus five degrees Celsius, then minus five degrees Celsius, then one degree."),
    ("He wore #7 on his back.", "He wore number seven on his back."),
    ("It happened in 1066, long ago.", "It happened in ten sixty-six, long ago."),
    ("There were 1066 of them.", "There were one thousand sixty-six of them."),
    ("On Jan. 5th, 2024 and Feb. 29 we met.", "On January fifth, twenty twenty-four and February twenty-ninth we met."),
    ("See https://x.com/a?id=42&x=1 for 2 days.", "See https://x.com/a?id=42&x=1 for two days."),
])
def test_expand_for_speech_symbols_phones_fractions(raw, spoken):
    assert expand_for_speech(raw) == spoken


def test_clean_script_keeps_number_signs_and_phone_area_codes():
    assert clean_script("He wore #7, called (555) 123-4567 (softly). #storytime") == "He wore #7, called (555) 123-4567."
    assert apply_voice_rules(clean_script("Call (555) 123-4567.")) == "Call five five five, one two three, four five six seven."


def test_sentence_splitter_does_not_break_at_month_abbreviations():
    assert split_sentences("We met on Jan. 5th, 2024! It rained.") == ["We met on Jan. 5th, 2024!", "It rained."]
    assert apply_voice_rules("We met on Jan. 5th, 2024!") == "We met on January fifth, twenty twenty-four!"


def test_user_script_is_cleaned_and_the_original_kept(tmp_path):
    from storygen.inputs import USER_SCRIPT
    from storygen.stages.base import Context, RunOptions
    from storygen.stages.script import ScriptStage
    from storygen.workspace import Story

    story = Story.open_or_create(tmp_path / "s")
    raw = ("# The Lighthouse\n\n**Narrator:** The *old* keeper climbed the stairs.\n- He found a bottle.\n"
           "- Inside was a note. (pause)\n[whispers] He smiled and said \"Hello!\" #shorts @friend\n")
    write_text(story.path(USER_SCRIPT), raw)
    ctx = Context(story, load_config(env={}), RunOptions())
    stage = ScriptStage()
    res = stage.run(ctx)
    out = story.path("script/script.txt").read_text()
    assert out == ("The old keeper climbed the stairs.\nHe found a bottle.\nInside was a note.\n"
                   "He smiled and said \"Hello!\"\n")
    assert story.path(USER_SCRIPT).read_text() == raw  # the user's copy is untouched
    removed = " ".join(res.info["removed"])
    for gone in ("# The Lighthouse", "**Narrator:**", "(pause)", "#shorts", "@friend", "[whispers]"):
        assert gone in removed, gone
    assert res.info["words"] == count_words(out)
    # ElevenLabs reads audio tags: they stay for that voice
    ctx11 = Context(story, load_config(overrides=["voice.provider=elevenlabs"], env={}), RunOptions())
    assert stage.settings(ctx11) != stage.settings(ctx)
    stage.run(ctx11)
    assert "[whispers] He smiled" in story.path("script/script.txt").read_text()
    # hard-wrapped lines are joined, not taken for a title; a script cleaning would empty is kept as it was
    write_text(story.path(USER_SCRIPT), "The old keeper climbed\nthe stairs slowly.\nHe stopped.\n")
    stage.run(ctx)
    assert story.path("script/script.txt").read_text() == "The old keeper climbed the stairs slowly.\nHe stopped.\n"
    write_text(story.path(USER_SCRIPT), "# Only a heading\n")
    res = stage.run(ctx)
    assert story.path("script/script.txt").read_text() == "Only a heading\n"
    assert res.info.get("warnings")


def test_changes_count_characters_in_chinese_and_name_every_sentence_of_a_block():
    from storygen.writing.revise import changes_markdown

    md = changes_markdown("下午14:30，他走了。她在20000元前停下。", "下午十四點三十分，他走了。她在兩萬元前停下。", [], "zh-TW")
    assert "- Characters: 20 -> 19; sentences: 2 -> 2" in md, md  # was "Words: 1 -> 1"
    assert "### Sentences 1-2" in md
    assert "- Words: 5 -> 5;" in changes_markdown("It was 30 years. Then.", "It was thirty years. Then.", [])
