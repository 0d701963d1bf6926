"""Demo meetings: the plan's two cadences and an "Agenda 1177"-style information meeting.

Called from ``flask commsplan demo`` after the plan is loaded. Idempotent: series are
found by their fixed demo UID, so a second run adds nothing (it only rolls the horizon).
Presenters are roles, not people; addresses are example.org.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.meetings import services
from commsplan.meetings.models import HolidayPolicy, MeetingKind, MeetingSeries, Occurrence
from commsplan.meetings.services import AgendaItemData, SeriesData
from commsplan.plan.models import StakeholderGroup, Unit
from commsplan.timeutil import STOCKHOLM, is_working_day

NETWORK_UID = "demo-natverket-invanartjanster@commsplan"
COLLABORATION_UID = "demo-samverkan-vardande-forvaltningar@commsplan"
INFORMATION_UID = "demo-agenda-1177@commsplan"

# The dates published for 2024 (seed 002, "Planerade datum").
AGENDA_1177_DATES_2024 = [
    "2024-03-06",
    "2024-04-10",
    "2024-05-23",
    "2024-09-05",
    "2024-10-10",
    "2024-11-06",
    "2024-12-11",
]

CARE_ADMINISTRATIONS = ("Nära vård och hälsa", "Akademiska sjukhuset", "Lasarettet i Enköping")
NETWORK_GROUP = "Förvaltningar/objekt inom Region Uppsala"

PRACTICAL_NOTES = (
    "* Skriv i chatten om du har en fråga eller en kommentar.\n"
    "* Ha mikrofonen avstängd.\n"
    "* Mötet spelas in.\n"
    "* Inspelning och presentation läggs upp på samverkanswebben efter mötet."
)

# Seed 002's agenda: numbered items with approximate durations, a break "ca 9.50".
AGENDA_1177 = [
    AgendaItemData("Agenda, inledning och syfte", "Moderator, Invånartjänster e-hälsa", 5),
    AgendaItemData("Nyttokalkyl ”Optimerat läge i kommunerna”", "Strateg, Inera", 30),
    AgendaItemData(
        "Sammanhållen planering – status i nystartat projekt samt kort om 1177 för vårdpersonal",
        "Projektledare, Inera",
        20,
    ),
    AgendaItemData("Paus", "", 10, is_break=True, fixed_start=time(9, 55)),
    AgendaItemData(
        "Mer om Socialstyrelsens nya föreskrifter om listningstjänst för vårdval",
        "Verksamhetsutvecklare, Inera",
        10,
    ),
    AgendaItemData("1177 barn och unga, intresseanmälan", "Produktägare 1177, Inera", 20),
    AgendaItemData("Frågor och svar", "Alla", 20, notes="Frågor från chatten besvaras."),
    AgendaItemData("Avslutning och kommande möten", "Moderator, Invånartjänster e-hälsa", 5),
]


@dataclass(frozen=True)
class DemoResult:
    created_series: int
    occurrences: int


def _nth_weekday(year: int, month: int, n: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def upcoming_information_dates(today: date, count: int = 6) -> list[str]:
    """The next ``count`` second Thursdays after today, without July (summer break)."""
    found: list[str] = []
    month = date(today.year, today.month, 1)
    while len(found) < count:
        day = _nth_weekday(month.year, month.month, 2, 3)
        if day > today and day.month != 7 and is_working_day(day):
            found.append(day.isoformat())
        month += relativedelta(months=1)
    return found


def _units(session: Session, names: tuple[str, ...]) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.name.in_(names)).order_by(Unit.name)))


def _groups(session: Session, *names: str) -> list[StakeholderGroup]:
    return list(session.scalars(select(StakeholderGroup).where(StakeholderGroup.name.in_(names))))


def _ensure(session: Session, uid: str, data: SeriesData, now: datetime) -> tuple[MeetingSeries, bool]:
    series = session.scalar(select(MeetingSeries).where(MeetingSeries.uid == uid))
    if series is not None:
        services.regenerate(session, series, now)
        return series, False
    # The fixed UID is what makes the loader idempotent; occurrence UIDs derive from it.
    data.uid = uid
    return services.create_series(session, data, now), True


def _fill_agenda(session: Session, occurrence: Occurrence, *, past: bool) -> None:
    if occurrence.agenda_items:
        return
    services.replace_agenda(session, occurrence, AGENDA_1177)
    occurrence.practical_notes = PRACTICAL_NOTES
    occurrence.material_url = "https://samverkan.example.org/agenda-1177/presentationer"
    if past:
        occurrence.minutes_url = "https://samverkan.example.org/agenda-1177/inspelningar"
    # A demo starts from a clean slate: filling in the agenda is not a change to announce.
    occurrence.sequence = 0


def load_meetings_demo(session: Session, today: date) -> DemoResult:
    """Load the demo meeting series; safe to run again. The caller commits."""
    now = datetime.combine(today, time(6, 0), tzinfo=STOCKHOLM)
    created = 0

    network, made = _ensure(
        session,
        NETWORK_UID,
        SeriesData(
            title="Nätverket Invånartjänster",
            kind=MeetingKind.network,
            description=(
                "Nätverket Invånartjänster träffas fyra gånger per år och vid behov. "
                "Status för 1177 e-tjänsterna, kommande releaser och servicefönster, "
                "frågor från verksamheterna."
            ),
            rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=2WE",
            starts_on=date(today.year, 2, 1),
            start_time=time(13, 0),
            duration_minutes=120,
            location="Akademiska sjukhuset, ingång 10, konferensrum Eken",
            online_url="https://meet.example.org/natverket-invanartjanster",
            organiser_name="Invånartjänster e-hälsa",
            organiser_email="1177etjanster@example.org",
            holiday_policy=HolidayPolicy.next_working_day,
            july_break=True,
            groups=_groups(session, NETWORK_GROUP),
            units=_units(session, ("Invånartjänster e-hälsa",)),
        ),
        now,
    )
    created += made

    _collaboration, made = _ensure(
        session,
        COLLABORATION_UID,
        SeriesData(
            title="Samverkan med de vårdande förvaltningarna",
            kind=MeetingKind.collaboration,
            description="Månatlig samverkan mellan Invånartjänster e-hälsa och de vårdande förvaltningarna.",
            rrule="FREQ=MONTHLY;BYDAY=2TU",
            starts_on=date(today.year, 1, 1),
            start_time=time(9, 0),
            duration_minutes=60,
            online_url="https://meet.example.org/samverkan-vardande-forvaltningar",
            organiser_name="Invånartjänster e-hälsa",
            organiser_email="1177etjanster@example.org",
            holiday_policy=HolidayPolicy.skip,
            july_break=True,
            units=_units(session, CARE_ADMINISTRATIONS),
        ),
        now,
    )
    created += made

    information, made = _ensure(
        session,
        INFORMATION_UID,
        SeriesData(
            title="Agenda 1177 – status och nyheter",
            kind=MeetingKind.information,
            description=(
                "Ett möte om gemensamma frågor för tjänster inom varumärket 1177. "
                "Anmäl dig via formuläret eller mejla 1177etjanster@example.org."
            ),
            explicit_dates=AGENDA_1177_DATES_2024 + upcoming_information_dates(today),
            starts_on=date(2024, 1, 1),
            start_time=time(9, 0),
            duration_minutes=120,
            online_url="https://meet.example.org/agenda-1177",
            organiser_name="Invånartjänster e-hälsa",
            organiser_email="1177etjanster@example.org",
            holiday_policy=HolidayPolicy.next_working_day,
            registration_open=True,
        ),
        now,
    )
    created += made
    if made:
        scheduled = [o for o in information.occurrences if not o.is_cancelled]
        history = [o for o in scheduled if o.start < now]
        ahead = [o for o in scheduled if o.start >= now]
        if history:
            _fill_agenda(session, history[-1], past=True)
        if ahead:
            _fill_agenda(session, ahead[0], past=False)
        session.flush()

    total = sum(len(s.occurrences) for s in (network, _collaboration, information))
    return DemoResult(created_series=created, occurrences=total)
