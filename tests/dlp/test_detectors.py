"""Content detectors, normalisation and the scan entry point."""

from __future__ import annotations

import datetime
import time

import pytest

from zegel.dlp.detectors import (
    detect_bsn,
    detect_date_of_birth,
    detect_iban,
    detect_passport_nl,
    detect_payment_card,
    detect_phone_nl,
    scan_text,
)
from zegel.dlp.findings import NOT_SCANNED
from zegel.dlp.medical import default_terms, detect_medical, parse_terms

VALID_BSN = "111222333"


def kinds(text: str) -> list[str]:
    return [f.kind for f in scan_text(text) if f.confidence >= 0.5]


def test_it_finds_bsn_in_common_spellings() -> None:
    spellings = ["111222333", "1112.22.333", "1112 22 333", "111 222 333", "111-222-333"]
    for spelled in [*spellings, "111.222.333"]:
        findings = detect_bsn(f"BSN: {spelled} graag")
        assert len(findings) == 1, spelled
        assert findings[0].confidence > 0.9


def test_it_ignores_bsn_failing_the_11_proef() -> None:
    assert detect_bsn("BSN 111222334") == []


def test_it_ignores_bsn_inside_longer_digit_run() -> None:
    assert detect_bsn("code 91112223339 en 1111222333") == []
    assert detect_bsn("bedrag 0,111222333 en 12/111222333") == []


def test_it_ignores_phone_numbers_and_ibans_as_bsn() -> None:
    assert detect_bsn("bel +31 111222333 of 0031 111222333") == []
    assert kinds("IBAN NL91ABNA0417164300") == ["iban"]


def test_it_ignores_bsn_shaped_order_numbers() -> None:
    assert detect_bsn("Uw ordernummer is 111222333.") == []


def test_it_ignores_a_valid_number_after_any_other_dutch_number_label() -> None:
    assert detect_bsn(f"Declaratienummer {VALID_BSN}-A") == []
    assert detect_bsn(f"offertenr. {VALID_BSN}") == []
    assert len(detect_bsn(f"Burgerservicenummer {VALID_BSN}")) == 1
    assert len(detect_bsn(f"BSN/sofinummer: {VALID_BSN}")) == 1


def test_it_accepts_eight_digit_bsn_only_after_a_label() -> None:
    eight = "12345672"  # 012345672 passes the 11-proef
    assert detect_bsn(f"BSN {eight}") != []
    assert detect_bsn(f"nummer {eight}") == []


def test_it_keeps_bsn_detail_free_of_the_number() -> None:
    finding = detect_bsn(f"bsn {VALID_BSN}")[0]
    assert VALID_BSN not in finding.detail
    assert finding.detail.endswith("*****2333")


def test_it_sees_through_zero_width_characters_and_nbsp_in_a_bsn() -> None:
    for hidden in [
        "111\u200b222\u00a0333",
        "1\u200c1\u200d1\u2060222\ufeff333",
        "111\u202f222\u2009333",
        "111\u00a0222\u00a0333",
    ]:
        text = f"BSN {hidden}\u200b en verder"
        findings = [f for f in scan_text(text) if f.kind == "bsn"]
        assert len(findings) == 1, repr(hidden)
        assert text[findings[0].start : findings[0].end] == hidden


def test_it_sees_through_full_width_digits() -> None:
    text = "BSN \uff11\uff11\uff11\uff12\uff12\uff12\uff13\uff13\uff13."
    findings = [f for f in scan_text(text) if f.kind == "bsn"]
    assert [(f.start, f.end) for f in findings] == [(4, 13)]


def test_it_finds_iban_with_and_without_spaces_and_in_lowercase() -> None:
    for spelled in [
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
        "DE89 3704 0044 0532 0130 00",
        "BE71 0961 2345 6769",
        "FR14 2004 1010 0505 0001 3M02 606",
    ]:
        assert len(detect_iban(f"rekening {spelled} graag")) == 1, spelled


def test_it_trims_the_word_after_an_iban() -> None:
    text = "IBAN NL91 ABNA 0417 1643 00 onder vermelding"
    finding = detect_iban(text)[0]
    assert text[finding.start : finding.end] == "NL91 ABNA 0417 1643 00"


def test_it_ignores_iban_with_a_bad_checksum() -> None:
    assert detect_iban("NL92 ABNA 0417 1643 00") == []


def test_a_document_number_needs_a_document_context() -> None:
    found = detect_passport_nl("Paspoort: SPECI2014")
    assert found[0].confidence > 0.5 and found[0].reasons == (("label", "Paspoort"),)
    # The shape alone is no finding, not even a hint: product codes and keys share it.
    assert detect_passport_nl("code SPECI2014") == []
    assert detect_passport_nl("Productcode AB12CD345, serienummer XK4482LM7") == []
    assert detect_passport_nl("paspoort SPOCI2014") == []  # the letter O is never used
    assert detect_passport_nl("een kopie van haar ID-kaart met nummer IR5T7K2L3")
    assert detect_passport_nl("Naam;Documentnummer\nJ. Smit;IR5T7K2L3")[0].reasons == (
        ("column", "Documentnummer"),)
    assert detect_passport_nl("Artikel;Aantal\nIR5T7K2L3;4") == []


@pytest.mark.parametrize("text", [
    "738199795 is het BSN van meneer Peters",  # the very first token
    "Burgerservicenummer: 11.12.22.333",  # dots in 2-2-2-3
    "BSN 94212661",  # the leading zero dropped, after a label
    "Het burgerservicenummer staat in Excel zonder de nul vooraan: 94212661.",
    "naam;bsn\nJansen;94212661",  # 8 digits in a BSN column
    "naam,bsn,plaats\nJan,738199795,Ede",
    "naam\tbsn\nJan\t738199795",
    "738199795,173833652,813128006",  # a row of numbers separated by commas
    "BSN 11 12 22 333",  # 2-2-2-3 with spaces or dashes, and 4-2-3 with dashes: with a label
    "BSN: 11-12-22-333",
    "burgerservicenummer 1112-22-333",
])
def test_it_finds_bsns_in_more_spellings(text: str) -> None:
    assert [f.kind for f in detect_bsn(text)][:1] == ["bsn"], text


def test_a_csv_row_of_bsns_finds_each() -> None:
    assert len(detect_bsn("naam;bsn\nA;738199795\nB;173833652\nC;51403729")) == 3
    assert len(detect_bsn("738199795,173833652,813128006")) == 3


@pytest.mark.parametrize("text", [
    "KvK 94212661",  # 8 digits that pass the 11-proef once padded: not a BSN here
    "AGB-code 83517017",
    "Datum 34127884 is geen datum maar er staat geen BSN bij",
    "ordernr;aantal\n738199795;5",  # the column says what the number is
    "Klantnummer\tBedrag\n738199795\t12,50",
    "0,111222333",  # a decimal
    "11 12 22 333",  # the rarer groupings without a BSN label
    "1112-22-333",
])
def test_eight_digits_and_columns_outside_a_bsn_context_stay_silent(text: str) -> None:
    assert detect_bsn(text) == [], text


def test_a_bsn_finding_gives_its_reasons() -> None:
    [labelled] = detect_bsn("BSN: 111222333")
    assert labelled.reasons == (("checksum", "11-proef"), ("label", "BSN"))
    [column] = detect_bsn("naam;bsn\nJan;111222333")
    assert column.reasons == (("checksum", "11-proef"), ("column", "bsn"))


def test_it_finds_payment_cards_with_luhn_and_known_prefix() -> None:
    assert len(detect_payment_card("Visa 4111 1111 1111 1111")) == 1
    assert len(detect_payment_card("card 5500-0000-0000-0004")) == 1
    assert len(detect_payment_card("amex 3782 822463 10005")) == 1
    assert detect_payment_card("Visa 4111 1111 1111 1112") == []
    assert detect_payment_card("betalingskenmerk 4111 1111 1111 1111") == []


def test_it_finds_dutch_phone_numbers() -> None:
    for spelled in [
        "06-12345678",
        "+31 6 12345678",
        "020 123 4567",
        "(020) 1234567",
        "+31 (0)6 1234 5678",
        "010 - 4122 300",
        "06 - 5543 2198",
    ]:
        assert len(detect_phone_nl(f"bel {spelled} vandaag")) == 1, spelled
    assert detect_phone_nl("bel 06-1234") == []


def test_it_finds_date_of_birth_only_next_to_a_label_or_name() -> None:
    assert detect_date_of_birth("geboren op 12-03-1985")[0].confidence == 0.9
    assert detect_date_of_birth("Jan de Vries (12-03-1985)")[0].confidence == 0.6
    assert detect_date_of_birth("de vergadering van 12-03-1985") == []
    assert detect_date_of_birth("geb. 31-02-1985") == []


def test_it_takes_a_recent_date_after_a_name_for_a_letter_date() -> None:
    recent = datetime.date.today() - datetime.timedelta(days=20)
    assert detect_date_of_birth(f"Gemeente Den Haag, {recent:%d-%m-%Y}") == []
    assert detect_date_of_birth(f"geboren op {recent:%d-%m-%Y}")[0].confidence == 0.9


def test_it_finds_medical_terms_with_inflections_and_compounds() -> None:
    text = "diabetespatiënten, depressies, borstkanker, Ziekte van  Parkinson, psychiatrische"
    found = [text[f.start : f.end] for f in detect_medical(text)]
    assert found == [
        "diabetespatiënten",
        "depressies",
        "borstkanker",
        "Ziekte van  Parkinson",
        "psychiatrische",
    ]


def test_it_ignores_medical_words_inside_unrelated_words() -> None:
    assert detect_medical("uw aanvraag is in behandeling; de diagnose van de storing") == []
    assert detect_medical("the archive and the hivemind") == []


def test_it_knows_medicine_names_and_medical_words_by_their_ending() -> None:
    found = detect_medical("start bisoprolol en candesartan; ook tendinitis en slaapstoornissen")
    assert len(found) == 4
    assert detect_medical("april, het sartan-project, prioritise, nostalgie, Indianapolis") == []


def test_it_matches_abbreviations_in_capitals_only() -> None:
    assert len(detect_medical("verzoek tot OTS, na een TIA, bekend met ASS")) == 3
    assert detect_medical("the ots field, Tian and the ass") == []
    assert detect_medical("prices soar") == []


def test_it_skips_terms_in_an_exception_phrase() -> None:
    assert detect_medical("hoop dat jullie veilig thuis zijn gekomen") == []
    assert (
        detect_medical("veroordeelt gedaagde in de proceskosten; veroordeling in de kosten") == []
    )
    assert detect_medical("the Great Depression and our probation period") == []
    assert len(detect_medical("melding bij Veilig Thuis; veroordeling wegens diefstal")) == 2
    extended = default_terms().extended(["!depressie * uitgebreid"])
    assert extended.find("de depressie is uitgebreid") == []


def test_it_scans_a_word_ending_written_with_a_dotted_capital_i() -> None:
    # "İ" lower-cases to two characters, so its lower case is no ending; this raised before.
    text = "tendinİtis en TENDİNİTİS, diabetes"
    assert [text[f.start : f.end] for f in detect_medical(text)] == ["diabetes"]


def test_it_ignores_an_exception_word_with_two_wildcards() -> None:
    # "a*b*c" would make the regex try every split of a word: polynomial time.
    assert [t.text for t in parse_terms(["!kom** veilig", "!ver*lo*en thuis"])] == ["kom* veilig"]


def test_it_accepts_extra_terms_from_the_admin() -> None:
    assert not [f for f in scan_text("lijdt aan netelroos") if f.kind == "medical"]
    extended = default_terms().extended(["[allergie]", "netelroos"])
    assert [f.kind for f in scan_text("lijdt aan netelroos", terms=extended)] == ["medical"]
    assert [f.kind for f in scan_text("lijdt aan netelroos", terms=["netelroos"])] == ["medical"]


def test_it_scans_a_50_mb_text_within_its_budget() -> None:
    chunk = "Geachte heer, uw factuur 2024-00123 van € 1.234,56 volgt. " * 20
    text = (chunk * (50_000_000 // len(chunk) + 1))[:50_000_000]
    started = time.monotonic()
    findings = scan_text(text, budget_seconds=1.0)
    # Generous bound for a busy machine: the budget is checked inside every detector's loop.
    assert time.monotonic() - started < 5
    assert findings[-1].kind == NOT_SCANNED
    assert findings[-1].end == len(text)


def test_it_finds_items_across_chunk_boundaries() -> None:
    filler = "woord " * 30_000
    text = filler + "BSN 111222333 en NL91ABNA0417164300 " + filler
    found = {f.kind for f in scan_text(text, budget_seconds=30)}
    assert {"bsn", "iban"} <= found


def test_a_table_aligned_with_spaces_takes_its_columns_headers() -> None:
    table = ("Naam            BSN          Geboortedatum\n"
             "T. Peters       51403729     12-04-1961\n"
             "A. Amrani       738199795    30-11-1975\n")
    assert [f.reasons[-1] for f in detect_bsn(table)] == [("column", "BSN")] * 2
    assert [f.confidence for f in detect_date_of_birth(table)] == [0.9, 0.9]
    stock = ("Artikel          Code         Aantal\n"
             "Metformine 500   738199795    120\n"
             "Insulinepen      51403729     40\n")
    assert detect_bsn(stock) == []


def test_a_code_label_says_a_number_is_no_bsn() -> None:
    assert detect_bsn("Artikelcode 738199795, levering vrijdag") == []
    assert detect_bsn("BSN 738199795, artikelcode volgt")[0].confidence == 0.95


def test_a_bare_document_label_needs_an_identity_document_nearby() -> None:
    assert detect_passport_nl("Factuur 2026-118\nDocumentnummer: HX7R2M4K5\nTotaal: 495") == []
    found = detect_passport_nl("Kopie identiteitsbewijs ontvangen, documentnummer NW4K82LP3.")
    assert found and found[0].reasons == (("label", "documentnummer"),)


@pytest.mark.parametrize("text", [
    "Ik ben mijn ID-kaart kwijt. Serienummer van mijn laptop is KP7X2W9Z3.",
    "Licence key: WX3M8K2P5, for the driving licence course.",
    "Paspoort verlengd; bestelcode PL2M8N6R4 voor de pasfoto's.",
])
def test_a_nearer_product_label_outweighs_an_identity_document(text: str) -> None:
    assert detect_passport_nl(text) == [], text


def test_a_driving_licence_code_after_its_own_label_counts() -> None:
    assert detect_passport_nl("driving licence SP4R7N2K8")


def test_systematic_vocabulary_covers_lay_words_and_compounds() -> None:
    for text in ["mijn vader heeft een keelontsteking", "ze kreeg een gebroken pols",
                 "hij gebruikt plastabletten", "uitslag van de bloedprik",
                 "she has atrial fibrillation", "my son uses an inhaler",
                 "he was signed off sick", "dhr. zit in de afkickkliniek"]:
        assert "medical" in kinds(text), text
    for text in ["I'm so addicted to this series", "ik word er depressief van, dat weer",
                 "wat een kankerweer vandaag", "het gebouw is rolstoeltoegankelijk",
                 "my new puffer jacket"]:
        assert "medical" not in kinds(text), text


@pytest.mark.parametrize("text", [
    "Membership number 738199795",
    "Case no. 738199795",
    "Order ID 738199795",
    "Werkorder 738199795 is ingepland",
    "Reservering 738199795 bevestigd",
])
def test_any_other_label_says_a_number_is_no_bsn(text: str) -> None:
    assert detect_bsn(text) == [], text


def test_a_citizen_service_number_label_still_counts() -> None:
    assert detect_bsn("citizen service number 738199795")[0].confidence == 0.95
    assert detect_bsn("social security number: 738199795")[0].confidence == 0.95


def test_a_term_in_the_middle_of_a_compound_before_a_health_word_counts() -> None:
    for text in ["mevrouw doet mee aan het borstkankeronderzoek",
                 "uw zoon is aangemeld bij het kinderdiabetescentrum"]:
        assert "medical" in kinds(text), text
    assert "medical" not in kinds("de kinderdiabetesboekjes zijn op")  # no health word after
