"""Special-category data is data about a person: who the text is about is weighed in."""

from __future__ import annotations

import pytest

from zegel.dlp.detectors import scan_text
from zegel.dlp.findings import REPORT_THRESHOLD


def _medical(text: str) -> list[tuple[float, tuple[tuple[str, str], ...]]]:
    return [(f.confidence, f.reasons) for f in scan_text(text) if f.kind == "medical"]


@pytest.mark.parametrize("text", [
    "Beste collega's, volgende week is de Week van de Diabetes. Iedereen is welkom!",
    "Hoi allemaal, zondag is de sponsorloop voor onderzoek naar kanker.",
    "Vacature: verpleegkundige oncologie. Ervaring met chemotherapie is een pre.",
    "Uitnodiging symposium over dementie en delier in de wijk.",
    "Bestelling: 20 doosjes metformine en 5 dozen paracetamol, levering vrijdag.",
    "De parkeergarage bij de diabetespoli is gesloten; parkeren op P3.",
    "Ticket 4471: de printer op de afdeling psychiatrie geeft een storing.",
    "Hi all, it's Mental Health Awareness Week: join the wellbeing walk about depression.",
])
def test_health_words_about_nobody_are_hints_only(text: str) -> None:
    found = _medical(text)
    assert found, "the term itself is still seen"
    assert all(confidence < REPORT_THRESHOLD for confidence, _reasons in found), found
    assert all(reasons[0][0] == "term" and reasons[1][0] in ("audience", "organisation")
               for _confidence, reasons in found)


@pytest.mark.parametrize("text", [
    "Met vriendelijke groet,\nThuiszorg De Zonnebloem",
    "Namens Stichting Veilig Thuis Utrecht, beste mevrouw Jansen",
    "Alzheimer Nederland organiseert een inloopavond.",
])
def test_a_term_in_an_organisations_name_is_a_hint(text: str) -> None:
    found = _medical(text)
    assert found and all(confidence < REPORT_THRESHOLD and reasons[1][0] == "organisation"
                         for confidence, reasons in found), found


@pytest.mark.parametrize(("text", "cue"), [
    ("Hoi Sanne, mijn zoon heeft astma en blijft thuis.", "mijn zoon"),
    ("Beste meneer De Boer, uw dochter is opgenomen met een longontsteking.", "uw dochter"),
    ("Patiënt bekend met diabetes sinds 2011.", "Patiënt"),
    ("Bekend met diabetes, geb. 12-03-1950.", "geb."),
    ("Dear Mrs Patel, your husband has epilepsy and needs a new prescription.",
     "your husband"),
    ("Vanaf maandag is Karin met zwangerschapsverlof.", "is Karin"),
])
def test_health_words_about_a_person_are_reported_with_the_cue(text: str, cue: str) -> None:
    found = _medical(text)
    assert found and all(confidence >= REPORT_THRESHOLD for confidence, _reasons in found)
    assert any(("person", cue) in reasons for _confidence, reasons in found), found


def test_a_person_close_by_outweighs_an_audience_further_away() -> None:
    text = ("Beste collega's,\n\nIk wil jullie laten weten dat mevrouw Jansen (kamer 12) "
            "sinds vanochtend koorts heeft.")
    [(confidence, reasons)] = _medical(text)
    assert confidence >= REPORT_THRESHOLD and reasons[1] == ("person", "mevrouw")


def test_the_reasons_name_the_term() -> None:
    [(_confidence, reasons)] = _medical("Mijn moeder heeft diabetes.")
    assert reasons == (("term", "diabetes"), ("person", "Mijn moeder"))


@pytest.mark.parametrize("text", [
    "Job advert: we are hiring for our mental health team.",
    "Patiënten en bezoekers van de dialyseafdeling parkeren vanaf maandag in garage P2.",
    "Our order of 200 boxes of paracetamol has shipped; invoice attached.",
])
def test_an_organisation_a_group_or_an_order_is_nobody(text: str) -> None:
    found = _medical(text)
    assert found and all(confidence < REPORT_THRESHOLD for confidence, _reasons in found), found


@pytest.mark.parametrize(("text", "cue"), [
    ("Vacature: wij zoeken een collega. De 82-jarige heeft een heupfractuur.", "jarige"),
    ("Hi all: the 6-year-old has a broken arm.", "year-old"),
    ("Dag Marco,\nde knie is geopereerd, alles is goed gegaan.", "Dag Marco"),
])
def test_an_age_or_a_greeting_to_one_person_is_a_person(text: str, cue: str) -> None:
    found = _medical(text)
    assert found and any(("person", cue) in reasons for _confidence, reasons in found), found
