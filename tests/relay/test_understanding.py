"""Reading national items: kind, times (Swedish text, Stockholm time, DST) and services.

The table holds texts modelled on Inera's mails and the brief's examples; the property
tests feed arbitrary text and check that nothing raises and that a window never ends
before it starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commsplan.kinds import NoticeKind
from commsplan.relay.understanding import Understanding, understand
from commsplan.timeutil import STOCKHOLM
from tests import swedish

RECEIVED = datetime(2024, 11, 20, 9, 30, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# (subject, body, expected kind, expected start (UTC), expected end (UTC))
TIMES = [
    # The brief's forms; Stockholm is UTC+1 in winter.
    ("Planerat underhåll", "Tisdag 3 december kl. 19.00–23.00", utc(2024, 12, 3, 18), utc(2024, 12, 3, 22)),
    ("Servicefönster", "3 dec kl 19-23", utc(2024, 12, 3, 18), utc(2024, 12, 3, 22)),
    ("Servicefönster", "2024-12-03 19:00 - 23:00", utc(2024, 12, 3, 18), utc(2024, 12, 3, 22)),
    ("Servicefönster", "Arbetet startar den 3/12 kl. 07.00.", utc(2024, 12, 3, 6), None),
    (
        "Servicefönster",
        "Den 5 december från kl. 19.00 pågår arbete med Mina meddelanden till kl. 23.00.",
        utc(2024, 12, 5, 18),
        utc(2024, 12, 5, 22),
    ),
    (
        "Driftstörning",
        "Den 21 november mellan 18:00 och 20:00 gick det inte att logga in.",
        utc(2024, 11, 21, 17),
        utc(2024, 11, 21, 19),
    ),
    # Over midnight, and over two dates written out.
    (
        "Servicefönster",
        "Natten till onsdag, tisdag 3 december kl. 22.00–02.00.",
        utc(2024, 12, 3, 21),
        utc(2024, 12, 4, 1),
    ),
    (
        "Servicefönster",
        "3 december kl. 22.00 till 4 december kl. 04.00",
        utc(2024, 12, 3, 21),
        utc(2024, 12, 4, 3),
    ),
    ("Servicefönster", "2024-12-03 22:00 - 2024-12-04 02:00", utc(2024, 12, 3, 21), utc(2024, 12, 4, 1)),
    # A year missing: the next such date after the mail came (January is next year).
    ("Release", "Releasen sker 14 januari kl. 06.00–07.00.", utc(2025, 1, 14, 5), utc(2025, 1, 14, 6)),
    # Summer time: UTC+2; and the night the clocks go back (27 October 2024, 03:00 → 02:00).
    ("Servicefönster", "Måndag 16 juni 2025 kl. 19.00–21.00", utc(2025, 6, 16, 17), utc(2025, 6, 16, 19)),
    ("Servicefönster", "Söndag 27 oktober 2024 kl. 01.00–04.00", utc(2024, 10, 26, 23), utc(2024, 10, 27, 3)),
    # Only a clock time: the day the mail came.
    ("Driftstörning", "Sedan kl. 08.15 går det inte att logga in.", utc(2024, 11, 20, 7, 15), None),
    # "24.00" is the next midnight.
    ("Servicefönster", "Den 2 december kl. 20.00–24.00", utc(2024, 12, 2, 19), utc(2024, 12, 2, 23)),
    # A span of days: the clock range runs from the first day to the last.
    (
        "Servicefönster",
        "Natten mellan 3 och 4 december kl. 23.00–05.00",
        utc(2024, 12, 3, 22),
        utc(2024, 12, 4, 4),
    ),
    ("Servicefönster", "Den 3–4 december pågår arbete.", utc(2024, 12, 2, 23), utc(2024, 12, 4, 23)),
    (
        "Driftstörning",
        "Start: 20 nov 08:12. Åtgärdad: 20 nov 09:40.",
        utc(2024, 11, 20, 7, 12),
        utc(2024, 11, 20, 8, 40),
    ),
    # The time before its date.
    (
        "Servicefönster",
        "Servicefönster kl. 19.00–23.00 tisdag den 3 december.",
        utc(2024, 12, 3, 18),
        utc(2024, 12, 3, 22),
    ),
    (
        "Servicefönster",
        "Arbetet pågår kl. 19.00–21.00 i morgon.",
        utc(2024, 11, 21, 18),
        utc(2024, 11, 21, 20),
    ),
    # English from the international suppliers.
    ("Scheduled maintenance", "2024-12-10 18:00 to 20:00", utc(2024, 12, 10, 17), utc(2024, 12, 10, 19)),
]


@pytest.mark.parametrize(("subject", "body", "starts_at", "ends_at"), TIMES, ids=[t[1][:40] for t in TIMES])
def test_times_from_swedish_text(subject: str, body: str, starts_at: datetime, ends_at: datetime | None):
    found = understand(subject, body, received_at=RECEIVED)
    assert (found.starts_at, found.ends_at) == (starts_at, ends_at)
    assert found.starts_at is not None and found.starts_at.tzinfo is not None
    assert found.time_evidence and found.time_evidence[0].excerpt in " ".join(body.split())


def test_version_numbers_and_forwarded_headers_are_no_times():
    body = (
        "-----Ursprungligt meddelande-----\n"
        "Från: Inera Driftinformation <driftinfo@inera.se>\n"
        "Skickat: den 19 november 2024 14:03\n"
        "Ämne: Release 5.30\n\n"
        "Version 5.30 av Stöd och behandling driftsätts 26 november kl. 06.00–07.00."
    )
    found = understand("VB: Release 5.30", body, received_at=RECEIVED)
    assert found.starts_at == utc(2024, 11, 26, 5)
    assert found.ends_at == utc(2024, 11, 26, 6)


def test_a_resolved_mail_about_yesterday_stays_in_this_year():
    found = understand(
        "Åtgärdad: Driftstörning i Webbtidbok",
        "Störningen 19 november kl. 13.10–14.45 är åtgärdad.",
        received_at=RECEIVED,
    )
    assert found.starts_at == utc(2024, 11, 19, 12, 10)


@pytest.mark.parametrize(
    "body",
    ["Läs om nyheterna på inera.se.", "Kundtjänst har öppet 24/7.", "Ring 018-611 00 00, vardagar 08-17."],
)
def test_no_time_in_text_gives_none(body: str):
    found = understand("Nyhetsbrev", body, received_at=RECEIVED)
    assert (found.starts_at, found.ends_at, found.time_evidence) == (None, None, ())


# (subject, body, kind)
KINDS = [
    ("Driftstörning i 1177 Journalen", "Journalen fungerar inte för vissa invånare.", NoticeKind.outage),
    ("Störning Webbtidbok", "Invånare kan inte boka tider.", NoticeKind.outage),
    ("Avbrott i Mina meddelanden", "", NoticeKind.outage),
    ("Information", "Inloggningen fungerar inte just nu. Felsökning pågår.", NoticeKind.outage),
    ("Resolved: Login issues", "The incident is resolved.", NoticeKind.outage),
    ("Åtgärdad: Driftstörning i Webbtidbok", "Störningen är åtgärdad.", NoticeKind.outage),
    (
        "Planerat underhåll av Stöd och behandling",
        "Tjänsten är otillgänglig under arbetet.",
        NoticeKind.service_window,
    ),
    ("Servicefönster 1177 på telefon", "", NoticeKind.service_window),
    ("Driftuppehåll e-tjänster på 1177.se", "", NoticeKind.service_window),
    ("Planerat avbrott i Journalen", "Journalen fungerar inte under avbrottet.", NoticeKind.service_window),
    ("Release 2024.4 av 1177 Journalen", "", NoticeKind.release),
    ("Nyheter i Webbtidbok", "Ny version med nya funktioner.", NoticeKind.release),
    ("Ny version av Stöd och behandling", "", NoticeKind.release),
    ("Nyhetsbrev från Inera", "Information om kommande utbildningar.", NoticeKind.general),
]


@pytest.mark.parametrize(("subject", "body", "kind"), KINDS, ids=[k[0] for k in KINDS])
def test_kind_from_keywords_with_evidence(subject: str, body: str, kind: NoticeKind):
    found = understand(subject, body, received_at=RECEIVED)
    assert found.kind is kind
    assert found.kind_evidence
    text = f"{subject} {body}".casefold()
    assert all(e.excerpt.casefold() in text for e in found.kind_evidence)


def test_the_subject_weighs_more_than_the_body():
    found = understand(
        "Release av Journalen", "Vid fel: ring supporten om något inte fungerar inte.", received_at=RECEIVED
    )
    assert found.kind is NoticeKind.release
    assert 'Ordet "Release" i ämnesraden' in [e.reason for e in found.kind_evidence]


def test_an_outage_announced_for_next_week_is_planned_work():
    found = understand("Avbrott i Webbtidbok", "Den 28 november kl. 19.00–20.00.", received_at=RECEIVED)
    assert found.kind is NoticeKind.service_window


def test_nothing_to_go_on_gives_no_kind():
    found = understand("Hej", "Tack för senast!", received_at=RECEIVED)
    assert (found.kind, found.kind_evidence) == (None, ())


def test_national_services_as_written_once_each():
    found = understand(
        "Driftstörning i 1177 Journalen",
        "1177 journalen och Webbtidbok påverkas. Även MINA MEDDELANDEN och Stöd och\nbehandling.",
        received_at=RECEIVED,
    )
    assert found.services == ("1177 Journalen", "Webbtidbok", "MINA MEDDELANDEN", "Stöd och behandling")
    assert found.service_evidence[0].reason == 'Tjänsten "1177 Journalen" nämns i ämnesraden'


def test_words_inside_other_words_are_not_services():
    found = understand("Info", "Journalenheten och Ineras­avtal; inerafonden.", received_at=RECEIVED)
    assert found.services == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(max_size=200),
    body=st.text(max_size=2000),
    received_at=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2198, 1, 1), timezones=st.just(UTC)
    ),
)
def test_never_raises_and_never_ends_before_it_starts(subject: str, body: str, received_at: datetime):
    found = understand(subject, body, received_at=received_at)
    assert isinstance(found, Understanding)
    _check(found)


# Text made of the pieces the parser looks for, so the property reaches its branches.
PIECES = st.sampled_from(
    [
        "kl. 19.00",
        "kl 7",
        "–",
        "-",
        " - ",
        "till",
        "och",
        "mellan",
        "från",
        "23.00",
        "02:00",
        "24.00",
        "3 december",
        "31 feb",
        "29 feb",
        "4 dec 2199",
        "1 jan 1970",
        "2024-12-03",
        "9999-99-99",
        "3/12",
        "31/4",
        "idag",
        "i morgon",
        "\n\n",
        " ",
        "driftstörning",
        "servicefönster",
        "release",
        "Journalen",
        "1177 på telefon",
        "kl.",
        "00.00",
        "12.60",
        "25:00",
        "version 5.30",
    ]
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(PIECES, max_size=14), received_at=st.datetimes(timezones=st.just(UTC)))
@example(pieces=["i morgon", "kl. 19.00"], received_at=datetime.max.replace(tzinfo=UTC))
@example(pieces=["3 december", "kl.", "00.00"], received_at=datetime.min.replace(tzinfo=UTC))
@example(pieces=["4 dec 2199", "kl. 19.00", "–", "24.00"], received_at=RECEIVED)
def test_pieces_of_dates_never_raise(pieces: list[str], received_at: datetime):
    found = understand("", " ".join(pieces), received_at=received_at)
    _check(found)


def _check(found: Understanding) -> None:
    if found.starts_at is not None:
        assert found.starts_at.utcoffset() == timedelta(0)
    if found.ends_at is not None:
        assert found.starts_at is not None
        assert found.starts_at <= found.ends_at


OUTAGE_MAIL = """Driftinformation från Inera

Tjänst: 1177 Journalen
Status: Pågående
Starttid: 2024-11-20 08:45
Beskrivning: Invånare kan inte logga in i Journalen. Felsökning pågår.
Nästa uppdatering: kl. 10.00

Med vänlig hälsning
Inera Kundservice"""

PLANNED_MAIL = """Planerade driftstörningar

Berörd tjänst: Webbtidbok
Starttid: 2024-12-03 19:00
Sluttid: 2024-12-04 01:00
Påverkan: Invånare kan inte boka, av- eller omboka tider."""

FORWARDED_MAIL = """
-----Ursprungligt meddelande-----
Från: Inera <noreply@inera.se>
Skickat: den 19 november 2024 14:03
Till: 1177etjanster@example.org
Ämne: Servicefönster e-tjänster på 1177.se

Hej!
Onsdag den 27 november kl. 21.00 genomförs ett servicefönster. Arbetet beräknas vara klart kl. 23.30.
"""

RELEASE_MAIL = (
    "Den 26 november driftsätts version 2024.11 av Stöd och behandling. "
    "Tjänsten är inte tillgänglig mellan kl. 06.00 och 06.30."
)

# (subject, body, kind, start, end, national services) — whole mails as Inera sends them.
MAILS = [
    (
        "Driftinformation: Störning i 1177 Journalen",
        OUTAGE_MAIL,
        NoticeKind.outage,
        utc(2024, 11, 20, 7, 45),
        None,  # "Nästa uppdatering kl. 10.00" is no end
        ("1177 Journalen", "Inera"),
    ),
    (
        "Planerad driftstörning: Webbtidbok",
        PLANNED_MAIL,
        NoticeKind.service_window,
        utc(2024, 12, 3, 18),
        utc(2024, 12, 4, 0),
        ("Webbtidbok",),
    ),
    (
        "VB: Servicefönster e-tjänster på 1177.se",
        FORWARDED_MAIL,
        NoticeKind.service_window,
        utc(2024, 11, 27, 20),
        utc(2024, 11, 27, 22, 30),
        ("e-tjänster på 1177.se", "Inera"),
    ),
    (
        "Release 2024.11 för Stöd och behandling",
        RELEASE_MAIL,
        NoticeKind.release,
        utc(2024, 11, 26, 5),
        utc(2024, 11, 26, 5, 30),
        ("Stöd och behandling",),
    ),
]


@pytest.mark.parametrize(
    ("subject", "body", "kind", "starts_at", "ends_at", "services"), MAILS, ids=[m[0] for m in MAILS]
)
def test_whole_national_mails(subject, body, kind, starts_at, ends_at, services):
    found = understand(subject, body, received_at=datetime(2024, 11, 20, 9, tzinfo=UTC))
    assert (found.kind, found.starts_at, found.ends_at, found.services) == (
        kind,
        starts_at,
        ends_at,
        services,
    )


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=datetime(1971, 1, 1).date(), max_value=datetime(2198, 12, 31).date()),
    first=st.integers(0, 22),
    length=st.integers(1, 10),
    minute=st.sampled_from([0, 15, 30, 45]),
    iso=st.booleans(),
)
def test_a_written_window_reads_back(day, first: int, length: int, minute: int, iso: bool):
    """Any date and clock range written as Swedes write it comes back as the same local times."""
    last = (first + length) % 24
    if iso:
        text = f"{day.isoformat()} {first:02d}:{minute:02d} - {last:02d}:{minute:02d}"
    else:
        written_day = f"{day.day} {swedish.MONTHS[day.month - 1]} {day.year}"
        text = f"Tisdag {written_day} kl. {first:02d}.{minute:02d}–{last:02d}.{minute:02d}"
    found = understand("Servicefönster", text, received_at=RECEIVED)
    start = datetime.combine(day, time(first, minute), tzinfo=STOCKHOLM)
    end = datetime.combine(
        day + timedelta(days=1 if last <= first else 0), time(last, minute), tzinfo=STOCKHOLM
    )
    assert found.starts_at == start.astimezone(UTC)
    assert found.ends_at == end.astimezone(UTC)
