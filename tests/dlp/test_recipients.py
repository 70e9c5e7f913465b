"""Wrong-recipient checks."""

from __future__ import annotations

from zegel.dlp.recipients import (
    DirectoryEntry,
    Recipient,
    check_recipients,
    first_contact,
    free_mail,
    lookalike_domain,
    lookalike_name,
    many_recipients,
    several_organisations,
)

KNOWN = ["zorggroep-noord.nl", "ggd-utrecht.nl"]


def test_it_flags_first_contact_and_first_sensitive_contact() -> None:
    recipients = [Recipient("new@x.nl"), Recipient("old@x.nl")]
    found = first_contact(recipients, ["OLD@x.nl"], sensitive=True)
    assert [(f.kind, f.address) for f in found] == [
        ("first_contact", "new@x.nl"),
        ("first_sensitive_contact", "old@x.nl"),
    ]


def test_it_flags_lookalike_domains() -> None:
    for address in [
        "a@zorggroep-nord.nl",
        "a@zorggroep-noord.com",
        "a@zorggr0ep-noord.nl",
        "a@xn--zrggroep-noord-gmb.nl",
        "a@zorggroep-noord.nl.example.co",
        "a@ggd-utrehct.nl",
    ]:
        found = lookalike_domain([Recipient(address)], KNOWN)
        assert [f.kind for f in found] == ["lookalike_domain"], address


def test_it_does_not_flag_equal_or_unrelated_domains() -> None:
    for address in ["a@zorggroep-noord.nl", "a@mail.zorggroep-noord.nl", "a@rivierduinen.nl"]:
        assert lookalike_domain([Recipient(address)], KNOWN) == [], address


def test_it_flags_a_known_name_with_another_address() -> None:
    directory = [DirectoryEntry("J. de Vries", "j.devries@zorggroep-noord.nl")]
    assert lookalike_name([Recipient("jdv@gmail.com", "J. de Vries")], directory)
    assert not lookalike_name([Recipient("J.deVries@zorggroep-noord.nl", "j. de vries")], directory)


def test_it_flags_several_external_organisations() -> None:
    recipients = [Recipient("a@ggd.nl"), Recipient("b@mail.gemeente.nl"), Recipient("c@eigen.nl")]
    assert several_organisations(recipients, ["eigen.nl"])
    assert not several_organisations(recipients[:1] + recipients[2:], ["eigen.nl"])


def test_it_counts_only_visible_recipients() -> None:
    recipients = [Recipient(f"p{i}@x.nl") for i in range(11)]
    assert many_recipients(recipients, threshold=10)
    hidden = [Recipient(r.address, field="bcc") for r in recipients]
    assert not many_recipients(hidden, threshold=10)


def test_it_flags_free_mail_providers() -> None:
    found = free_mail([Recipient("a@gmail.com"), Recipient("b@ziggo.nl"), Recipient("c@ggd.nl")])
    assert [f.address for f in found] == ["a@gmail.com", "b@ziggo.nl"]


def test_it_runs_all_checks_together() -> None:
    kinds = {
        f.kind
        for f in check_recipients(
            [Recipient("x@zorggroep-nord.nl"), Recipient("y@gmail.com")],
            own_domains=["eigen.nl"],
            known_domains=KNOWN,
        )
    }
    assert {"first_contact", "lookalike_domain", "free_mail"} <= kinds
