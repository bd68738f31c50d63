"""Numbers, dates, money, times, ordinals and phone numbers spoken per language (num2words; a Hindi speller)."""

from __future__ import annotations

import pytest

from storygen.text.numbers import expand_for_speech
from storygen.writing import apply_voice_rules

CASES = [
    # (language, written, spoken fragment that must appear)
    ("es", "Nació en 1998.", "mil novecientos noventa y ocho"),
    ("es", "Pagó 5,50 €.", "cinco euros con cincuenta céntimos"),
    ("es", "A las 14:30 llegó.", "catorce y treinta"),
    ("es", "Quedó en 1.er lugar y la 2.ª vez.", "primer lugar y la segunda vez"),
    ("es", "Llama al +34 612 345 678.", "más tres cuatro, seis uno dos, tres cuatro cinco, seis siete ocho"),
    ("es", "El 05/03/2024 nevó.", "cinco de marzo de dos mil veinticuatro"),
    ("de", "Im Jahr 1998 war es kalt.", "neunzehnhundertachtundneunzig"),
    ("de", "Es kostete 12,99 €.", "zwölf Euro und neunundneunzig Cent"),
    ("de", "Um 7:05 ging er.", "sieben Uhr fünf"),
    ("de", "Der 2. Platz.", "Der zweite Platz"),
    ("de", "Ruf 030-1234567 an.", "null drei null, eins zwei drei vier fünf sechs sieben"),
    ("de", "Es waren 1.000 Leute.", "eintausend Leute"),
    ("fr", "En 2024, il a payé 3,50 €.", "deux mille vingt-quatre"),
    ("fr", "Il a payé 3,50 €.", "trois euros et cinquante centimes"),
    ("fr", "À 14h30 le 1er mai.", "quatorze heures trente le premier mai"),
    ("fr", "Appelle le 06 12 34 56 78.", "zéro six, un deux, trois quatre, cinq six, sept huit"),
    ("pt-BR", "Custou R$ 10,50.", "dez reais e cinquenta centavos"),
    ("pt", "Em 1998, às 9:15.", "mil novecentos e noventa e oito"),
    ("pt", "O 1º lugar e a 2ª vez.", "primeiro lugar e a segunda vez"),
    ("ja", "2024年5月3日", "にせんにじゅうよんねんごがつみっか"),
    ("ja", "500円", "ごひゃくえん"),
    ("ja", "3時30分", "さんじはん"),
    ("ja", "第3", "だいさん"),
    ("ja", "090-1234-5678", "ゼロ きゅう ゼロ、いち に さん よん"),
    ("ar", "في عام 2024", "ألفان و أربعة و عشرون"),
    ("ar", "دفع 50 $", "خمسون دولار"),
    ("ar", "٢٥ طالبا", "خمسة و عشرون طالبا"),
    ("ar", "الساعة 7:30", "سبعة وثلاثون دقيقة"),
    ("ar", "نسبة 15%", "خمسة عشر بالمئة"),
    ("hi", "1998 में", "उन्नीस सौ अट्ठानबे में"),
    ("hi", "₹500 दिए", "पाँच सौ रुपये दिए"),
    ("hi", "7:30 बजे", "सात बजकर तीस मिनट"),
    ("hi", "फोन 98765-43210", "नौ आठ सात छह पाँच, चार तीन दो एक शून्य"),
    ("hi", "2024 में 15%", "दो हज़ार चौबीस में पंद्रह प्रतिशत"),
]


@pytest.mark.parametrize("lang,written,spoken", CASES)
def test_spoken_as_the_language_says_it(lang: str, written: str, spoken: str):
    out = expand_for_speech(written, lang)
    assert spoken in out, out
    assert not any(ch.isdigit() for ch in out), out  # no digit left for the voice to read in English


def test_english_rules_never_run_on_other_languages():
    # English doubled-word removal, abbreviations and ", and" splits would change these sentences
    es = "Dr. López dijo que que no. " + "Era una noche larga, and the wind " * 3
    assert "Doctor" not in apply_voice_rules(es, 8, "es")
    assert "que que" in apply_voice_rules(es, 8, "es")
    assert "two thousand" not in expand_for_speech("En 2000.", "es")
    assert expand_for_speech("In 1998 he paid $5.", "en") == "In nineteen ninety-eight he paid five dollars."
