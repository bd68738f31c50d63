"""Numbers, dates, money, times, ordinals and phone numbers spoken per language (num2words; Hindi and Chinese
spellers), each expected string as a native speaker says it."""

from __future__ import annotations

import pytest

from storygen.text.numbers import expand_for_speech
from storygen.writing import apply_voice_rules

CASES = [
    # (language, written, spoken fragment that must appear)
    # Spanish: years, money, times, ordinals, phones, dates, gender of the counted noun
    ("es", "Nació en 1998.", "mil novecientos noventa y ocho"),
    ("es", "Pagó 5,50 €.", "cinco euros con cincuenta céntimos"),
    ("es", "Costó 1 €.", "Costó un euro."),
    ("es", "Costó 21 €.", "veintiún euros"),
    ("es", "Costó £500.", "quinientas libras"),
    ("es", "Eran 200 pesetas.", "doscientas pesetas"),
    ("es", "A las 14:30 llegó.", "catorce y treinta"),
    ("es", "A la 1:15 salió.", "A la una y quince"),
    ("es", "Quedó en 1.er lugar y la 2.ª vez.", "primer lugar y la segunda vez"),
    ("es", "Llama al +34 612 345 678.", "más tres cuatro, seis uno dos, tres cuatro cinco, seis siete ocho"),
    ("es", "El 05/03/2024 nevó.", "cinco de marzo de dos mil veinticuatro"),
    ("es", "Había 200 personas.", "doscientas personas"),
    ("es", "Vendió 1.300 casas.", "mil trescientas casas"),
    ("es", "Vino 1 persona.", "una persona"),
    ("es", "Tiene 21 casas.", "veintiuna casas"),
    ("es", "Tenía 1 perro y 21 años.", "un perro y veintiún años"),
    ("es", "Llegaron 21.000 personas.", "veintiún mil personas"),
    ("es", "Pesa 3,5 kilos.", "tres coma cinco kilos"),
    # German: ordinals take the case ending; years in hundreds; "Uhr" said once
    ("de", "Im Jahr 1998 war es kalt.", "neunzehnhundertachtundneunzig"),
    ("de", "Es kostete 12,99 €.", "zwölf Euro und neunundneunzig Cent"),
    ("de", "Um 7:05 ging er.", "sieben Uhr fünf"),
    ("de", "Um 14:30 Uhr kam sie.", "Um vierzehn Uhr dreißig kam sie."),
    ("de", "Um 14.30 Uhr kam sie.", "Um vierzehn Uhr dreißig kam sie."),
    ("de", "Um 1:00 Uhr schlief er.", "Um ein Uhr schlief er."),
    ("de", "Der 2. Platz.", "Der zweite Platz"),
    ("de", "Er kam am 3. Mai 1998.", "am dritten Mai neunzehnhundertachtundneunzig"),
    ("de", "Der 3. Mai war kalt.", "Der dritte Mai war kalt."),
    ("de", "Vom 3. bis zum 5. Mai.", "Vom dritten bis zum fünften Mai."),
    ("de", "Es war in der 3. Woche.", "in der dritten Woche"),
    ("de", "Am 03.05.1998 schneite es.", "Am dritten Mai neunzehnhundertachtundneunzig"),
    ("de", "Er blieb 1 Stunde.", "eine Stunde"),
    ("de", "Ruf 030-1234567 an.", "null drei null, eins zwei drei vier fünf sechs sieben"),
    ("de", "Es waren 1.000 Leute.", "eintausend Leute"),
    ("de", "Pi ist 3,14.", "drei Komma eins vier"),
    # French: ordinals, "une heure", phone numbers in pairs
    ("fr", "En 2024, il a payé 3,50 €.", "deux mille vingt-quatre"),
    ("fr", "Il a payé 3,50 €.", "trois euros et cinquante centimes"),
    ("fr", "Il a payé £21.", "vingt et une livres"),
    ("fr", "À 14h30 le 1er mai.", "quatorze heures trente le premier mai"),
    ("fr", "À 1:05 il dormait.", "une heure cinq"),
    ("fr", "Le 2e jour et la 1re fois.", "Le deuxième jour et la première fois"),
    ("fr", "Appelle le 06 12 34 56 78.", "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
    ("fr", "Il a attendu 21 heures.", "vingt et une heures"),
    # Portuguese (pt-BR): gender, reais, times
    ("pt-BR", "Custou R$ 10,50.", "dez reais e cinquenta centavos"),
    ("pt-BR", "Custou R$ 1,00.", "um real"),
    ("pt", "Em 1998, às 9:15.", "mil novecentos e noventa e oito"),
    ("pt-BR", "Em 1998 ele nasceu.", "Em mil novecentos e noventa e oito ele nasceu."),
    ("pt-BR", "Às 2:30 saímos.", "Às duas e trinta"),
    ("pt", "O 1º lugar e a 2ª vez.", "primeiro lugar e a segunda vez"),
    ("pt-BR", "Vieram 200 pessoas.", "duzentas pessoas"),
    ("pt-BR", "Ele tem 2 casas.", "duas casas"),
    ("pt-BR", "Vieram 21 pessoas.", "vinte e uma pessoas"),
    ("pt-BR", "Ligue para (11) 98765-4321.", "um um, nove oito sete seis cinco, quatro três dois um"),
    # Japanese: kana readings of counters, hours and minutes
    ("ja", "2024年5月3日", "にせんにじゅうよんねんごがつみっか"),
    ("ja", "500円", "ごひゃくえん"),
    ("ja", "3時30分", "さんじはん"),
    ("ja", "14:30に", "じゅうよじはん"),
    ("ja", "7:01に", "しちじいっぷん"),
    ("ja", "10分待った", "じゅっぷん"),
    ("ja", "3人がいた", "さんにん"),
    ("ja", "1人で", "ひとりで"),
    ("ja", "第3", "だいさん"),
    ("ja", "090-1234-5678", "ゼロ きゅう ゼロ、いち に さん よん"),
    # Arabic: و joined to the next word; hours as feminine ordinals
    ("ar", "في عام 2024", "ألفان وأربعة وعشرون"),
    ("ar", "دفع 50 $", "خمسون دولار"),
    ("ar", "٢٥ طالبا", "خمسة وعشرون طالبا"),
    ("ar", "الساعة 7:30", "الساعة السابعة والنصف"),
    ("ar", "الساعة 14:15", "الساعة الثانية والربع"),
    ("ar", "الساعة 7:05", "الساعة السابعة وخمس دقائق"),
    ("ar", "نسبة 15%", "خمسة عشر بالمئة"),
    ("ar", "اتصل بالرقم 050 123 4567", "صفر خمسة صفر، واحد اثنان ثلاثة، أربعة خمسة ستة سبعة"),
    # Hindi
    ("hi", "1998 में", "उन्नीस सौ अट्ठानबे में"),
    ("hi", "₹500 दिए", "पाँच सौ रुपये दिए"),
    ("hi", "7:30 बजे", "सात बजकर तीस मिनट"),
    ("hi", "फोन 98765-43210", "नौ आठ सात छह पाँच, चार तीन दो एक शून्य"),
    ("hi", "2024 में 15%", "दो हज़ार चौबीस में पंद्रह प्रतिशत"),
    ("hi", "5वाँ दिन", "पाँचवाँ दिन"),
    ("hi", "2वीं मंजिल", "दूसरी मंजिल"),
    # Chinese: years digit by digit, 两 before a measure word, 百分之 before a percentage
    ("zh", "1998年", "一九九八年"),
    ("zh", "2024年5月3日", "二零二四年五月三日"),
    ("zh", "花了500元", "五百元"),
    ("zh", "花了¥500", "五百元"),
    ("zh", "花了$5.5", "五点五美元"),
    ("zh", "14:30到", "十四点三十分"),
    ("zh", "2:05到", "两点零五分"),
    ("zh", "第3名", "第三名"),
    ("zh", "2个人", "两个人"),
    ("zh", "2月2号", "二月二号"),
    ("zh", "增长15%", "百分之十五"),
    ("zh", "打138-1234-5678", "一三八，一二三四，五六七八"),
    ("zh", "1005人", "一千零五人"),
    ("zh", "气温-3度", "气温负三度"),
    ("zh", "A-3号", "A-三号"),  # a code, not a negative number
    # traditional Chinese (Taiwan, Hong Kong, zh-Hant): the speller's words in traditional characters
    ("zh-TW", "14:30到", "十四點三十分"),
    ("zh-Hant", "花了20000元", "兩萬元"),
    ("zh-HK", "2個人", "兩個人"),
    ("zh-TW", "-3度", "負三度"),
    ("zh-TW", "这里点心", "这里点心"),  # the writer's own characters are left as written
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


def test_numbers_before_unlisted_nouns_keep_their_plain_form():
    assert expand_for_speech("Son 200 euros.", "es") == "Son doscientos euros."
    assert expand_for_speech("Capítulo 21 termina.", "es") == "Capítulo veintiuno termina."


@pytest.mark.parametrize("lang,written,spoken", [
    ("zh", "3月-5月", "三月到五月"), ("zh", "5月3日-7日", "五月三日到七日"),  # a range, not a minus
    ("zh-Hant", "花了20000元", "兩萬元"), ("zh-Hant", "€5", "五歐元"), ("zh-TW", "£20", "二十英鎊"),
])
def test_chinese_ranges_and_traditional_currency_names(lang: str, written: str, spoken: str):
    from storygen.text.language import parse_language

    out = expand_for_speech(written, parse_language(lang))  # zh-Hant keeps its script through parse_language
    assert spoken in out and "-" not in out, out
