"""Demo data: Region Uppsala's communication plan for the 1177 e-services (seed 003).

The wording is the Swedish original, because that is what the region's users read and
print. Deliberate departures from the source: no personal names (the role instead) and no
real mail addresses (``example.org``); the contacts are invented.

Loading is idempotent and gentle with edits: rows are matched on natural keys (names,
e-mail addresses, unit + role, service + system) and only what is missing is added.
Existing rows keep whatever users changed; ordered texts (needs, goals, guidelines) are
filled only while empty. The checklist is the activities' template (activities.defaults).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.plan.models import (
    Channel,
    ChannelKind,
    Collaboration,
    Contact,
    Dependency,
    Goal,
    Guideline,
    InformationNeed,
    NeedKind,
    Plan,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
)

FUNCTIONAL_MAILBOX = "1177etjanster@example.org"
_1177_MATERIAL = "https://www.1177.se/Uppsala-lan/riktlinjer-och-material/om-varumarket/"

PLAN: dict[str, str] = {
    "region": "Region Uppsala",
    "title": "Kommunikationsplan för 1177 e-tjänster/Invånartjänster",
    "version": "1.0",
    "purpose": (
        "Planen beskriver de kommunikationsriktlinjer och insatser som krävs för 1177 "
        "e-tjänster/invånartjänster inom Region Uppsala och ska utgöra ett stöd och en hjälp "
        "för olika kommunikationsinsatser som krävs."
    ),
    "stakeholders_intro": (
        "Följande målgrupper utgör intressenter för kommunikationsinsatser rörande "
        "e-tjänster 1177 inom Region Uppsala."
    ),
    "guidelines_intro": (
        "Kommunikation som görs om 1177 e-tjänster/Invånartjänster ska följa nationella "
        "riktlinjer, kommunikationsriktlinjer för e-tjänster på 1177.se när du skriver för "
        "vårdpersonal och när du skriver för invånare samt Varumärkesmanual för 1177.\n\n"
        "Primärt används nationell information."
    ),
    "channels_intro": (
        "Intern kommunikation inom regionen sker mellan Invånartjänster e-hälsa och "
        "representanter från respektive förvaltningar och systemförvaltningsobjekt."
    ),
    "responsibility_intro": (
        f"Kommunikationen sker genom mejl ({FUNCTIONAL_MAILBOX}) eller Easit. "
        "Stöd, support samt information till och från verksamheter sker i första hand med "
        "representanter från respektive vårdande förvaltning. Förändringsförslag rörande "
        "Invånartjänster följer fastställt beslutsprocess för ärenden och förändringshantering.\n\n"
        "Nedan tabell beskriver kontakter och kommunikationskanaler till respektive tjänst."
    ),
    "dissemination": (
        "Information som kommer från nationella nätverk/förvaltningsgrupper osv. utgör "
        "information som bör spridas regionalt till representanter i respektive förvaltning/"
        "verksamhet.\n\n"
        "Invånartjänster e-hälsa publicerar information på intranät och samverkanswebben.\n\n"
        "Nationella driftstörningar eller servicefönster och releaseinformation kommuniceras "
        "nationellt från Inera. Kontaktpersoner inom respektive förvaltning förutsätts "
        "prenumerera på den nationella informationen.\n\n"
        "Prenumeration av information från Inera, se driftstatus Inera. Planerade "
        "driftstörningar/servicefönster går att läsa på Ineras webb."
    ),
    # The dependencies and meeting cadences of this section are rows of their own, so the
    # document lists them from the data rather than from this text.
    "collaboration": (
        "Information kring Invånartjänster e-hälsa är något som fler förvaltningsobjekt berörs "
        "av och därför viktigt att kommunikationskanaler och samverkan är etablerade mellan dessa."
    ),
}

GOALS: list[str] = [
    "Att ge en enhetlig och korrekt information som är digital, delningsbar och dagsaktuell om "
    "1177 e-tjänster/Invånartjänster som är riktad till rätt målgrupper",
    "Att kommunikationen går i linje med objektet Invånartjänster e-hälsas uppdrag och aktiviteter",
]

GUIDELINES: list[tuple[str, str]] = [
    ("Nationella riktlinjer", ""),
    (
        "Kommunikationsriktlinjer för e-tjänster på 1177.se – när du skriver för vårdpersonal",
        _1177_MATERIAL
        + "kommunikationsriktlinjer-for-1177-vardguidens-e-tjanster--nar-du-skriver-for-vardpersonal/",
    ),
    (
        "Kommunikationsriktlinjer för e-tjänster på 1177.se – när du skriver för invånare",
        _1177_MATERIAL
        + "kommunikationsriktlinjer--for-1177-vardguidens-e-tjanster--nar-du-skriver-till-invanare/",
    ),
    ("Varumärkesmanual för 1177", _1177_MATERIAL + "Varumarkesmanual/varumarket/"),
]

# (name, need kind, needs) in the order of the plan.
STAKEHOLDER_GROUPS: list[tuple[str, NeedKind, list[str]]] = [
    (
        "Vårdgivare - chefer",
        NeedKind.able_to,
        [
            "besluta om resurser ska avsättas/omfördelas",
            "sprida information vidare till medarbetare",
            "förbereda verksamheten för kommande förändringar eller utvecklingsinsatser.",
        ],
    ),
    (
        "Vårdgivare - medarbetare",
        NeedKind.receive,
        [
            "stöd i handhavande av e-tjänster",
            "ökad förståelse för e-tjänsterna så att de kan sälja in och förklara för patienter",
            "vetskap om kommande förändringar/uppdateringar som kräver förändrade arbetssätt/rutiner osv.",
            "möjlighet att kunna förmedla förbättringsförslag.",
        ],
    ),
    (
        "Invånare/Patienter",
        NeedKind.receive,
        [
            "vetskap om nya och befintliga e-tjänster och hur de används",
            "information om eventuella stora förändringar som påverkar deras möjlighet att nyttja "
            "e-tjänsterna",
            "kunskap hur de kan förmedla förbättringsförslag",
            "information och göra beställningar gällande exempelvis "
            "”Anvisningen för specialfall i Journalen”.",
        ],
    ),
    (
        "Politiken",
        NeedKind.able_to,
        [
            "följa utvecklingen av e-tjänster",
            "se de ekonomiska effekterna av e-tjänster, både gällande kostnader och effektivitet",
            "följa patientsäkerheten och patientnyttan.",
        ],
    ),
    (
        "Allmänhet",
        NeedKind.able_to,
        [
            "se patientnytta och patientsäkerhet samt att se ekonomiska effekter, att skattepengar "
            "används effektivt.",
        ],
    ),
    (
        "Media",
        NeedKind.able_to,
        [
            "beskriva och rapportera om tjänsterna",
            "se ekonomiska effekter, patientsäkerhet och patientnytta.",
        ],
    ),
    (
        "Förvaltningar/objekt inom Region Uppsala",
        NeedKind.able_to,
        [
            "arbeta proaktivt och samverka kring frågor som sträcker sig över fler verksamhetsområden "
            "och förvaltningsobjekt.",
        ],
    ),
]

ADM = UnitKind.administration
OBJ = UnitKind.system_object
EXT = UnitKind.external

# Units that the tables refer to but that receive nothing themselves.
EXTRA_UNITS: list[tuple[str, UnitKind, str]] = [
    ("VSS Resurscentrum", ADM, "Administrerar behörigheter för primärvård och privata vårdgivare."),
    ("Blodcentralen", ADM, ""),
    ("Folktandvården", ADM, ""),
    ("MedBild", OBJ, "Systemförvaltningsobjekt för MedBild."),
]

# Mottagare av information: (unit, unit kind, role, channel, contact route).
RECIPIENTS: list[tuple[str, UnitKind, str, str | None, str]] = [
    ("Nära vård och hälsa", ADM, "E-hälsostrateg", None, ""),
    ("Akademiska sjukhuset", ADM, "Centrala e-tjänstesamordnare", None, ""),
    ("Lasarettet i Enköping", ADM, "Vårdsystemsamordnare", None, ""),
    ("Privata vårdgivare", EXT, "VSS Resurscentrum", None, ""),
    ("Privata specialister", EXT, "VSS Resurscentrum", None, ""),
    ("ITC", ADM, "OL-IT för Invånartjänster e-hälsa", None, ""),
    ("Patientnämnden", ADM, "Handläggare", None, ""),
    ("Smittskyddsenheten", ADM, "Handläggare", None, ""),
    ("CESÅ", ADM, "Handläggare", None, ""),
    ("Patientadministration", ADM, "Handläggare", None, ""),
    ("Barnombudsmannen", ADM, "Barnombudsman", None, ""),
    ("Barnskyddsteamet", ADM, "Medicinsk sekreterare", None, ""),
    ("Kommunikation", ADM, "Kommunikationschef för resp. avdelning", None, ""),
    # Övriga systemförvaltningsobjekt
    ("KST", OBJ, "Objektspecialist", None, ""),
    ("Listning och ersättning", OBJ, "Objektledare", None, ""),
    ("EPJ", OBJ, "EPJ", "Easit", "via Easit"),
    ("T4", OBJ, "Objektledare", None, ""),
    ("Prosang", OBJ, "Objektledare", None, ""),
    ("RiS", OBJ, "Objektledare", None, ""),
    ("Rådgivningsstöd 1177", OBJ, "Vårdutvecklare", None, ""),
]

# (name, kind, address, audience, description)
CHANNELS: list[tuple[str, ChannelKind, str, str, str]] = [
    (
        "Funktionsbrevlådan 1177 e-tjänster",
        ChannelKind.email,
        FUNCTIONAL_MAILBOX,
        "Representanter för förvaltningar och systemförvaltningsobjekt",
        "Kommunikationen sker genom mejl eller Easit.",
    ),
    (
        "Easit",
        ChannelKind.ticket_system,
        "",
        "Systemförvaltningsobjekt och vårdande förvaltningar",
        "Ärendehanteringssystemet: felanmälan och ärenden till objekten, t.ex. EPJ, T4 och MedBild.",
    ),
    (
        "Intranätet",
        ChannelKind.intranet,
        "",
        "Medarbetare i regionen",
        "Invånartjänster e-hälsa publicerar information på intranät och samverkanswebben.",
    ),
    (
        "Samverkanswebben",
        ChannelKind.collaboration_web,
        "",
        "Vårdgivare, även privata vårdgivare",
        "Invånartjänster e-hälsa publicerar information på intranät och samverkanswebben.",
    ),
    (
        "Inera driftstatus",
        ChannelKind.status_page,
        "https://www.inera.se/driftstatus/",
        "Kontaktpersoner inom respektive förvaltning förutsätts prenumerera.",
        "Nationella driftstörningar eller servicefönster och releaseinformation kommuniceras "
        "nationellt från Inera.",
    ),
    (
        "Inera planeringskalendern",
        ChannelKind.web_page,
        "https://www.inera.se/aktuellt/planeringskalendern/",
        "Kontaktpersoner inom respektive förvaltning förutsätts prenumerera.",
        "Planerade driftstörningar/servicefönster går att läsa på Ineras webb.",
    ),
    (
        "1177.se",
        ChannelKind.web_page,
        "https://www.1177.se/Uppsala-lan/",
        "Invånare/Patienter",
        "Nationellt innehåll från Inera med regionala tillägg för Uppsala län.",
    ),
    (
        "Nätverksmöten Invånartjänster",
        ChannelKind.meeting,
        "",
        "Berörda i nätverket Invånartjänster",
        "Nätverket Invånartjänster träffas 4 ggr/år samt vid behov.",
    ),
]

# (system, object unit, description)
SYSTEMS: list[tuple[str, str | None, str]] = [
    ("Prosang", "Prosang", ""),
    ("Cosmic", "EPJ", "Journalsystemet (EPJ) i Region Uppsala."),
    ("T4", "T4", ""),
    ("RiS", "RiS", ""),
    ("Blodcentralen", "Blodcentralen", "Blodcentralens tidbokning."),
    ("EPJ", "EPJ", "Elektronisk patientjournal."),
    ("Folktandvården", "Folktandvården", "Folktandvårdens tidbokning."),
    ("MedBild", "MedBild", ""),
    ("RGS", "Rådgivningsstöd 1177", "Rådgivningsstödet för 1177 på telefon."),
    ("KST", "KST", ""),
    ("1177 på telefon", "Rådgivningsstöd 1177", ""),
]

SERVICES: list[tuple[str, str]] = [
    ("Behörigheter för primärvård och privata vårdgivare", ""),
    ("Webbtidbok", "Tidbokning via 1177.se mot vårdens tidböcker."),
    ("Journalen", "Journalen på 1177.se."),
]

_WEBBTIDBOK_COMMENT = "Inrapporterade fel från invånare\nAlla akuta ärenden"
_JOURNALEN_COMMENT = "Frågor/synpunkter/fel rörande Cosmic, T4 och RGS"

# (service, system or None, responsible unit (None: the system's object), channel, route, comment)
RESPONSIBILITIES: list[tuple[str, str | None, str | None, str | None, str, str]] = [
    (
        "Behörigheter för primärvård och privata vårdgivare",
        None,
        "VSS Resurscentrum",
        "Easit",
        "",
        "Administrerar behörigheter för Nära vård och hälsa och privata vårdgivare samt informerar "
        "om deras uppdrag och bifogar länkar och manualer.",
    ),
    ("Webbtidbok", "Prosang", None, None, "e-post objektledare", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "Cosmic", None, None, "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "T4", None, "Easit", "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "RiS", None, None, "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "Blodcentralen", None, None, "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "EPJ", None, "Easit", "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "Folktandvården", None, None, "", _WEBBTIDBOK_COMMENT),
    ("Webbtidbok", "MedBild", None, "Easit", "", _WEBBTIDBOK_COMMENT),
    ("Journalen", "EPJ", None, "Easit", "", _JOURNALEN_COMMENT),
    ("Journalen", "T4", None, "Easit", "", _JOURNALEN_COMMENT),
    ("Journalen", "RGS", None, None, "vårdutvecklare", _JOURNALEN_COMMENT),
]

# Invånartjänster e-hälsa (all e-services) depends on these systems.
DEPENDENCIES: list[str] = ["EPJ", "KST", "Prosang", "RiS", "T4", "1177 på telefon"]

# (name, cadence, participants)
COLLABORATIONS: list[tuple[str, str, str]] = [
    ("Nätverket Invånartjänster", "4 ggr/år samt vid behov", "Berörda i nätverket Invånartjänster"),
    ("Samverkan med de vårdande förvaltningarna", "En gång per månad", "De vårdande förvaltningarna"),
    ("Samverkan med EPJ", "I olika forum", "EPJ"),
]

# Invented people (no real names) with example.org addresses:
# (name, e-mail, unit, role, phone, language, stakeholder groups)
CONTACTS: list[tuple[str, str, str, str, str, str, list[str]]] = [
    (
        "Alva Exempelsson",
        "alva.exempelsson@example.org",
        "Nära vård och hälsa",
        "E-hälsostrateg",
        "018-000 00 01",
        "sv",
        ["Vårdgivare - chefer", "Förvaltningar/objekt inom Region Uppsala"],
    ),
    (
        "Bertil Provsson",
        "bertil.provsson@example.org",
        "Akademiska sjukhuset",
        "Central e-tjänstesamordnare",
        "018-000 00 02",
        "sv",
        ["Vårdgivare - medarbetare", "Förvaltningar/objekt inom Region Uppsala"],
    ),
    (
        "Cecilia Demodotter",
        "cecilia.demodotter@example.org",
        "Lasarettet i Enköping",
        "Vårdsystemsamordnare",
        "",
        "sv",
        ["Vårdgivare - medarbetare"],
    ),
    (
        "David Testberg",
        "david.testberg@example.org",
        "VSS Resurscentrum",
        "Samordnare för privata vårdgivare",
        "",
        "sv",
        ["Vårdgivare - chefer"],
    ),
    (
        "Eva Exempellund",
        "eva.exempellund@example.org",
        "ITC",
        "OL-IT för Invånartjänster e-hälsa",
        "",
        "sv",
        ["Förvaltningar/objekt inom Region Uppsala"],
    ),
    (
        "Fredrik Provberg",
        "fredrik.provberg@example.org",
        "Prosang",
        "Objektledare",
        "",
        "sv",
        ["Förvaltningar/objekt inom Region Uppsala"],
    ),
    (
        "Gunilla Demoqvist",
        "gunilla.demoqvist@example.org",
        "Kommunikation",
        "Kommunikationschef",
        "018-000 00 07",
        "sv",
        ["Media", "Allmänhet"],
    ),
    (
        "Hamid Testsson",
        "hamid.testsson@example.org",
        "T4",
        "Objektledare",
        "",
        "en",
        ["Förvaltningar/objekt inom Region Uppsala"],
    ),
]


@dataclass
class LoadReport:
    """How many rows of each kind the loader added (zero everywhere on a second run)."""

    added: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.added.values())


M = TypeVar("M")


class _Loader:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.report = LoadReport()

    def get_or_add(self, model: type[M], key: dict[str, Any], values: dict[str, Any] | None = None) -> M:
        """The row matching ``key``; added with ``values`` when missing. Existing rows are left alone."""
        query = select(model)
        for name, value in key.items():
            column = getattr(model, name)
            query = query.where(column.is_(None) if value is None else column == value)
        found = self.session.scalars(query.limit(1)).first()
        if found is not None:
            return found
        row = model(**key, **(values or {}))
        self.session.add(row)
        self.session.flush()
        self.report.added[model.__name__] += 1
        return row

    def plan(self) -> Plan:
        plan = self.session.scalars(select(Plan).order_by(Plan.id).limit(1)).first()
        if plan is None:
            plan = Plan(**PLAN)
            self.session.add(plan)
            self.report.added["Plan"] += 1
        if not plan.goals:
            plan.goals = [Goal(position=i, text=text) for i, text in enumerate(GOALS, 1)]
            self.report.added["Goal"] += len(GOALS)
        if not plan.guidelines:
            plan.guidelines = [
                Guideline(position=i, title=title, url=url) for i, (title, url) in enumerate(GUIDELINES, 1)
            ]
            self.report.added["Guideline"] += len(GUIDELINES)
        self.session.flush()
        return plan

    def load(self) -> LoadReport:
        self.plan()
        groups: dict[str, StakeholderGroup] = {}
        for position, (name, kind, needs) in enumerate(STAKEHOLDER_GROUPS, 1):
            group = self.get_or_add(
                StakeholderGroup, {"name": name}, {"position": position, "need_kind": kind}
            )
            if not group.needs:
                group.needs = [InformationNeed(position=i, text=text) for i, text in enumerate(needs, 1)]
                self.report.added["InformationNeed"] += len(needs)
            groups[name] = group

        channels = {
            name: self.get_or_add(
                Channel,
                {"name": name},
                {"kind": kind, "address": address, "audience": audience, "description": description},
            )
            for name, kind, address, audience, description in CHANNELS
        }

        units: dict[str, Unit] = {}
        for name, kind, description in EXTRA_UNITS:
            units[name] = self.get_or_add(Unit, {"name": name}, {"kind": kind, "description": description})
        for position, (unit_name, kind, role, channel, route) in enumerate(RECIPIENTS, 1):
            unit = units.get(unit_name) or self.get_or_add(Unit, {"name": unit_name}, {"kind": kind})
            units[unit_name] = unit
            self.get_or_add(
                Recipient,
                {"unit_id": unit.id, "role": role},
                {
                    "channel": channels[channel] if channel else None,
                    "contact_route": route,
                    "position": position,
                },
            )

        systems = {
            name: self.get_or_add(
                System,
                {"name": name},
                {"object_unit": units[unit] if unit else None, "description": description},
            )
            for name, unit, description in SYSTEMS
        }
        services = {
            name: self.get_or_add(Service, {"name": name}, {"position": position, "description": description})
            for position, (name, description) in enumerate(SERVICES, 1)
        }
        for position, (service, system, responsible, channel, route, comment) in enumerate(
            RESPONSIBILITIES, 1
        ):
            system_row = systems[system] if system else None
            responsible_unit = units[responsible] if responsible else (system_row and system_row.object_unit)
            self.get_or_add(
                Responsibility,
                {"service_id": services[service].id, "system_id": system_row.id if system_row else None},
                {
                    "responsible_unit": responsible_unit,
                    "channel": channels[channel] if channel else None,
                    "contact_route": route,
                    "comment": comment,
                    "position": position,
                },
            )
        for system in DEPENDENCIES:
            self.get_or_add(Dependency, {"service_id": None, "system_id": systems[system].id})
        for position, (name, cadence, participants) in enumerate(COLLABORATIONS, 1):
            self.get_or_add(
                Collaboration,
                {"name": name},
                {"cadence": cadence, "participants": participants, "position": position},
            )
        for name, email, unit, role, phone, language, group_names in CONTACTS:
            self.get_or_add(
                Contact,
                {"email": email},
                {
                    "name": name,
                    "unit": units[unit],
                    "role": role,
                    "phone": phone,
                    "language": language,
                    "groups": [groups[g] for g in group_names],
                },
            )
        self.session.flush()
        return self.report


def load_demo(session: Session) -> LoadReport:
    """Add Region Uppsala's plan where it is missing. The caller commits."""
    return _Loader(session).load()
