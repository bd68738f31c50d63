"""Stories in other languages: the code checked, the language detected, the writer asked in it, the numbers spoken
in it, espeak-ng (offline) narrating it with its own word times, and the captions in its script."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _chat_server import ChatServer, chat_body
from conftest import invoke_cli
from storygen.config import load_config
from storygen.errors import InputError
from storygen.media.ffmpeg import probe
from storygen.text.language import count_units, detect_language, parse_language
from storygen.workspace import read_json

SCRIPTS = {
    "es": ("Un faro en la niebla", "¿Quién escribió la carta? La guardiana del faro encontró una botella en la playa. "
           "Dentro había una carta con su propio nombre. La tinta era vieja, pero la letra era suya. "
           "Esa noche subió la escalera y encendió la luz. En el mar, un barco respondió con tres destellos. "
           "Nunca supo quién lo guiaba, pero desde entonces nunca volvió a estar sola."),
    "ja": ("きりのなかのとうだい", "むかしむかし、うみのそばに、ちいさなとうだいがありました。"
           "あるあさ、もりびとのはなは、すなはまでびんをひろいました。"
           "なかには、じぶんのなまえがかいてあるてがみがはいっていました。"
           "そのよる、はなはあかりをつけて、うみをみつめました。"
           "とおくのふねが、みっつのひかりでこたえました。"),
    "ar": ("منارة في الضباب", "من كتب الرسالة؟ وجدت حارسة المنارة زجاجة على الشاطئ. "
           "كان في داخلها رسالة تحمل اسمها. كان الحبر قديما لكن الخط كان خطها. "
           "في تلك الليلة صعدت الدرج وأشعلت الضوء. في البحر أجابت سفينة بثلاث ومضات. "
           "لم تعرف أبدا من كان يرشدها، لكنها لم تعد وحيدة بعد ذلك."),
}
SCRIPT_RANGES = {"es": "[A-Za-zÁÉÍÓÚáéíóúñÑ¿¡]", "ja": "[\u3040-\u309f]", "ar": "[\u0600-\u06ff]"}


def _writer(lang: str):
    title, script = SCRIPTS[lang]

    def reply(body: dict) -> dict:
        user = body["messages"][-1]["content"]
        m = re.search(r"scores: (\d+) honest", user)
        if m:
            idea = {"title": title, "logline": script.split("。")[0][:200], "tone": "wistful", "theme": "hope",
                    "narrator_gender": "female", "narration": "narrator", "voice_hint": "calm",
                    "scores": [70] * int(m.group(1))}
            return {"body": chat_body(json.dumps(idea, ensure_ascii=False), model=body["model"])}
        return {"body": chat_body(script, model=body["model"])}

    return reply


def test_language_set_overrides_the_idea(tmp_path: Path):
    """A Spanish idea with --language ja gives a Japanese story."""
    with ChatServer() as server:
        server.default = _writer("ja")
        r = invoke_cli("make", "Una guardiana de faro encuentra una carta", "-o", str(tmp_path / "s"), "--json",
                       "--until", "script", "--language", "ja", "-c", "writer.provider=openai",
                       "-c", f"writer.base_url={server.base_url}", "-c", "script.target_words=40",
                       "-c", "script.min_words=20", "-c", "script.max_words=80", env={"OPENAI_API_KEY": "sk-test"})
    assert r.exit_code == 0, r.stderr[-3000:]
    assert read_json(tmp_path / "s" / "idea" / "idea.json")["language"] == "ja"
    assert read_json(tmp_path / "s" / "idea" / "idea.json")["audience"]["regions"] == ["JP"]


def test_unknown_code_lists_the_known_ones():
    with pytest.raises(InputError) as e:
        parse_language("xx-YY")
    assert "xx-YY" in str(e.value) and "es" in e.value.fix and "ja" in e.value.fix
    assert parse_language("pt_br") == "pt-BR" and parse_language("ES") == "es"


def test_unknown_code_from_the_cli(tmp_path: Path):
    r = invoke_cli("make", "A lighthouse keeper", "-o", str(tmp_path / "s"), "--language", "klingon")
    assert r.exit_code != 0
    assert "klingon" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("text,lang", [
    ("A lighthouse keeper finds a message in a bottle", "en"),
    ("Kenji and Aiko (健二と愛子) find a lantern in Kyoto", "en"),  # mixed script: English with Japanese names
    ("Una guardiana de faro encuentra una carta con su nombre", "es"),
    ("Uma menina encontra uma carta na praia do Rio", "pt"),
    ("Ein Leuchtturmwärter findet eine Flaschenpost mit seinem Namen", "de"),
    ("Une gardienne de phare trouve une lettre dans une bouteille", "fr"),
    ("灯台守が瓶の中に自分の名前の手紙を見つける", "ja"),
    ("灯塔看守人在瓶子里发现了一封信", "zh"),
    ("حارسة منارة تجد رسالة في زجاجة", "ar"),
    ("एक लड़की को समुद्र तट पर एक पत्र मिलता है", "hi"),
    ("Смотритель маяка находит письмо в бутылке", "ru"),
])
def test_detection(text: str, lang: str):
    assert detect_language(text) == lang


def test_a_chosen_voice_that_cannot_speak_the_language(tmp_path: Path):
    from storygen.stages.voice import pick_voice

    cfg = load_config(None, ["voice.provider=elevenlabs", "voice.model=eleven_turbo_v2", "voice.api_key=x"])
    with pytest.raises(InputError) as e:
        pick_voice(cfg, "es")
    assert "Spanish" in str(e.value) and "voice.provider=elevenlabs" in e.value.fix
    # a Piper voice file whose config says it is English, for a Spanish story
    onnx = tmp_path / "en_US-x-medium.onnx"
    onnx.write_bytes(b"")
    (tmp_path / "en_US-x-medium.onnx.json").write_text(json.dumps({"language": {"code": "en_US"}}))
    cfg = load_config(None, [f"voice.voice={onnx}"])
    with pytest.raises(InputError):
        pick_voice(cfg, "es")
    # the default voice falls back to espeak for Spanish, with a warning that it is robotic
    voice, warning = pick_voice(load_config(None, []), "es")
    assert voice.name == "espeak" and "robotic" in warning
    voice, warning = pick_voice(load_config(None, []), "en")
    assert voice.name == "piper" and warning is None


def test_japanese_kanji_are_read_in_kana_never_in_english(tmp_path: Path, monkeypatch):
    """espeak-ng reads kana only: a script with kanji is spoken from its kana reading (pykakasi), and without
    the reader installed it is a clear error, never kanji spelt out in English."""
    import numpy as np
    import soundfile as sf

    from storygen.providers.voice.espeak import EspeakVoice
    from storygen.text import kana

    voice = EspeakVoice({})
    kanji = voice.synthesize("灯台守が手紙を見つけた。", tmp_path / "k.wav", language="ja")
    voice.synthesize("とうだいしゅがてがみをみつけた。", tmp_path / "h.wav", language="ja")  # written in kana by hand
    a, b = sf.read(tmp_path / "k.wav")[0], sf.read(tmp_path / "h.wav")[0]
    n = min(a.size, b.size)  # the same reading: the same sounds (espeak's length varies by a few ms run to run)
    env = [np.sqrt((x[: n - n % 441].reshape(-1, 441) ** 2).mean(axis=1)) for x in (a, b)]  # 20 ms loudness
    assert abs(a.size - b.size) < 0.01 * n and np.corrcoef(*env)[0, 1] > 0.95
    assert [w.word for w in kanji.words] == ["灯台守が手紙を見つけた。"] and kanji.words[0].end > 1.0
    assert kana.reading("カタカナと灯台") == "かたかなととうだい"
    assert "っっ" not in kana.reading("入っていました")  # pykakasi's "いっ" + the script's "っ": espeak stalled on it
    monkeypatch.setattr(kana, "_kakasi", lambda: None)
    with pytest.raises(InputError) as e:
        voice.synthesize("灯台守が手紙を見つけた。", tmp_path / "v.wav", language="ja")
    assert "kanji" in str(e.value) and "lang-cjk" in e.value.fix and "elevenlabs" in e.value.fix


def test_status_judges_a_story_with_the_language_it_keeps(tmp_path: Path):
    """A story made with --language is up to date for `status` without it (the language is kept in the story,
    as a resume uses it); an idea made from the user's own script aims at the language's regions."""
    script = tmp_path / "guion.txt"
    script.write_text("La guardiana del faro encontró una botella en la playa. Dentro había una carta con su nombre. "
                      "Esa noche encendió la luz y un barco respondió.", encoding="utf-8")
    out = tmp_path / "s"
    r = invoke_cli("make", "--script", str(script), "--language", "es", "-o", str(out), "--until", "revised")
    assert r.exit_code == 0, r.stderr[-2000:]
    idea = read_json(out / "idea" / "idea.json")
    assert idea["language"] == "es" and idea["audience"]["regions"] == ["ES", "MX", "AR"]
    states = {s["stage"]: s["state"] for s in json.loads(invoke_cli("status", str(out), "--json").stdout)}
    assert [states[k] for k in ("idea", "script", "revised")] == ["done"] * 3, states
    [row] = json.loads(invoke_cli("status", str(tmp_path), "--json").stdout)
    assert row["done"] == 3


def test_a_script_no_font_draws_stops_before_the_voice_and_a_font_file_fixes_it(tmp_path: Path):
    """Hebrew: no packaged font draws it. The story stops before the narration is made, naming captions.font; the
    user's own font file (here a packaged Noto Sans file standing in for one, checked to draw Hebrew first) is
    honoured through the captions."""
    from storygen.media import fonts

    script = tmp_path / "he.txt"
    script.write_text("שומרת המגדלור מצאה בקבוק על החוף. בתוכו היה מכתב עם שמה.", encoding="utf-8")
    out = tmp_path / "s"
    r = invoke_cli("make", "--script", str(script), "--language", "he", "-o", str(out), "--until", "captions")
    assert r.exit_code != 0 and "captions.font" in r.stderr, r.stderr[-1500:]
    assert not (out / "voice" / "voice.wav").exists()
    own = next((f.path for f in fonts.installed_faces()
                if f.path.suffix == ".ttf" and fonts.has_glyph(f.path, 0, "ש")), None)
    if own is None:  # no packaged face draws Hebrew: a font file from the system, if there is one
        own = next((p for p in Path("/usr/share/fonts").rglob("DejaVuSans.ttf")), None) if Path("/usr/share/fonts").is_dir() else None
    if own is None:
        pytest.skip("no font file that draws Hebrew on this machine")
    r = invoke_cli("make", "--script", str(script), "--language", "he", "-o", str(out), "--until", "captions",
                   "-c", f"captions.font={own}")
    assert r.exit_code == 0, r.stderr[-1500:]
    assert (out / "captions" / "captions.ass").is_file()


def test_a_script_in_another_language_than_asked_is_reported(tmp_path: Path):
    script = tmp_path / "guion.txt"
    script.write_text("La guardiana del faro encontró una botella en la playa. Dentro había una carta con su nombre.",
                      encoding="utf-8")
    r = invoke_cli("make", "--script", str(script), "--language", "pt", "-o", str(tmp_path / "s"), "--until", "script")
    assert r.exit_code == 0, r.stderr[-1500:]
    said = " ".join((r.stdout + r.stderr).split())
    assert "reads as Spanish" in said and "--language es" in said
    r = invoke_cli("make", "--script", str(script), "--language", "es", "-o", str(tmp_path / "t"), "--until", "script")
    assert "reads as" not in r.stdout + r.stderr


@pytest.mark.parametrize("lang,text", [
    ("zh-TW", "下午十四點三十分，老漁夫在碼頭發現一個瓶子。瓶子裡有一封信，說要把兩萬元交給燈塔的主人。"),
    ("en", "Every night for thirty years, Elias climbed the lighthouse stairs. Then one morning, the sea left a bottle."),
])
def test_espeak_word_times_cover_the_speech(tmp_path: Path, lang: str, text: str):
    """espeak-ng reads a Chinese clause as several words with short pauses between them: the clause's time must run
    to its last sound, not to the first short pause (the captions were blank for three quarters of the speech)."""
    import numpy as np
    import soundfile as sf

    from storygen.providers.voice.espeak import EspeakVoice

    sp = EspeakVoice({}).synthesize(text, tmp_path / "v.wav", language=lang)
    x, sr = sf.read(sp.wav, dtype="float32")
    hop = int(0.01 * sr)
    db = 10 * np.log10(np.mean(x[: x.size // hop * hop].reshape(-1, hop) ** 2, axis=1) + 1e-12)
    loud = db > np.percentile(db, 95) - 30
    timed = np.zeros_like(loud)
    for w in sp.words:
        timed[int(w.start * 100): int(np.ceil(w.end * 100)) + 1] = True
    covered = float((loud & timed).sum() / loud.sum())
    assert covered >= 0.9, [(w.word, round(w.start, 2), round(w.end, 2)) for w in sp.words]
