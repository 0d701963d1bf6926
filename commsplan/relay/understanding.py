"""Reading a national notice: what kind it is, when it happens and which national services
it names, each with the evidence a coordinator reads before accepting the guess.

Pure functions over text, no database and no network, so they are cheap to test on any
input (``tests/relay/test_understanding.py`` feeds them arbitrary text). Nothing here is
applied silently: the review queue shows the guess and its evidence next to the draft.

Times are read as Europe/Stockholm wall-clock time and returned as aware UTC. A date
without a year is the next such date from the day the item arrived, looking back
``HINDSIGHT`` days first: a "resolved" mail on 4 December about "3 december" means the day
before, not a year later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from commsplan.kinds import NoticeKind
from commsplan.timeutil import STOCKHOLM

HINDSIGHT = timedelta(days=14)
# How far apart (in characters) a start and its end may be written: one sentence or two.
MAX_RANGE_GAP = 250
# A date this close after a time without one is that time's date.
DATE_AFTER_TIME_GAP = 40
EARLIEST_YEAR, LATEST_YEAR = 1970, 2199
# Long mails are read only this far: the facts come first, and regexes stay fast.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Evidence:
    reason: str  # translated explanation, e.g. 'Ordet "driftstörning" i ämnesraden'
    excerpt: str  # the text it matched, as written


@dataclass(frozen=True)
class Understanding:
    kind: NoticeKind | None
    kind_evidence: tuple[Evidence, ...]
    starts_at: datetime | None  # aware, UTC
    ends_at: datetime | None
    time_evidence: tuple[Evidence, ...]
    services: tuple[str, ...]  # national service names found, as written in the text
    service_evidence: tuple[Evidence, ...]


# --- kind ------------------------------------------------------------------------------

# (regex, kind): a word starts at a word boundary; ``\w*`` lets Swedish inflect it
# ("driftstörningen", "servicefönstret"). Longer phrases come first and hide the shorter
# ones they contain ("planerat avbrott" is a service window, not an outage).
_KIND_WORDS: list[tuple[str, NoticeKind]] = [
    (
        r"planera(?:d|de|t|s)? (?:underhåll|avbrott|driftstörning|driftuppehåll|arbete|uppgradering)\w*",
        NoticeKind.service_window,
    ),
    (r"servicefönst\w*", NoticeKind.service_window),
    (r"driftuppehåll\w*", NoticeKind.service_window),
    (r"underhållsarbete\w*", NoticeKind.service_window),
    (r"underhållsfönst\w*", NoticeKind.service_window),
    (r"(?:scheduled|planned) (?:maintenance|downtime|outage)", NoticeKind.service_window),
    (r"maintenance window", NoticeKind.service_window),
    (r"maintenance", NoticeKind.service_window),
    (r"releaseinformation\w*", NoticeKind.release),
    (r"release\w*", NoticeKind.release),
    (r"ny(?:a)? version\w*", NoticeKind.release),
    (r"new version", NoticeKind.release),
    (r"nyheter i", NoticeKind.release),
    (r"ny funktion\w*", NoticeKind.release),
    (r"nya funktion\w*", NoticeKind.release),
    (r"lansering\w*", NoticeKind.release),
    (r"driftsättning\w*", NoticeKind.release),
    (r"release notes", NoticeKind.release),
    (r"driftstörning\w*", NoticeKind.outage),
    (r"störning\w*", NoticeKind.outage),
    (r"avbrott\w*", NoticeKind.outage),
    (r"fungerar inte", NoticeKind.outage),
    (r"fungerar ej", NoticeKind.outage),
    (r"ur funktion", NoticeKind.outage),
    (r"går inte att", NoticeKind.outage),
    (r"ligger nere", NoticeKind.outage),
    (r"otillgänglig\w*", NoticeKind.outage),
    (r"inte tillgänglig\w*", NoticeKind.outage),
    (r"felsök\w*", NoticeKind.outage),
    (r"åtgärdad\w*", NoticeKind.outage),
    (r"outage", NoticeKind.outage),
    (r"disruption", NoticeKind.outage),
    (r"incident\w*", NoticeKind.outage),
    (r"resolved", NoticeKind.outage),
    (r"degraded", NoticeKind.outage),
    (r"nyhetsbrev\w*", NoticeKind.general),
    (r"information om", NoticeKind.general),
    (r"för kännedom", NoticeKind.general),
    (r"newsletter", NoticeKind.general),
]
_SPACE = r"\s+"  # a line may wrap or double a space inside a phrase
_KIND_PATTERN = re.compile(
    "|".join(
        f"(?P<k{index}>(?<!\\w){regex.replace(' ', _SPACE)}(?!\\w))"
        for index, (regex, _kind) in enumerate(_KIND_WORDS)
    ),
    re.IGNORECASE,
)
SUBJECT_WEIGHT = 3
# Ties go to the kind that matters most when it is wrongly missed.
_KIND_ORDER = [NoticeKind.outage, NoticeKind.service_window, NoticeKind.release, NoticeKind.general]


def _kind_hits(text: str) -> list[tuple[NoticeKind, str]]:
    hits = []
    for match in _KIND_PATTERN.finditer(text):
        index = int(match.lastgroup[1:]) if match.lastgroup else 0
        hits.append((_KIND_WORDS[index][1], match.group()))
    return hits


def guess_kind(
    subject: str, body: str, starts_at: datetime | None = None, received_at: datetime | None = None
) -> tuple[NoticeKind | None, tuple[Evidence, ...]]:
    """The kind with the most keyword weight (the subject counts three times), and the
    keywords that speak for it. None when no keyword is found."""
    scores = dict.fromkeys(_KIND_ORDER, 0)
    evidence: dict[NoticeKind, list[Evidence]] = {kind: [] for kind in _KIND_ORDER}
    seen: set[tuple[NoticeKind, str, str]] = set()
    for where, text, weight in (("subject", subject, SUBJECT_WEIGHT), ("body", body, 1)):
        for kind, excerpt in _kind_hits(text):
            scores[kind] += weight
            key = (kind, where, excerpt.casefold())
            if key in seen:
                continue
            seen.add(key)
            if where == "subject":
                reason = _('Ordet "%(word)s" i ämnesraden', word=excerpt)
            else:
                reason = _('Ordet "%(word)s" i texten', word=excerpt)
            evidence[kind].append(Evidence(reason, excerpt))
    # Structure: an outage announced for a time well after the mail came is planned work.
    if (
        starts_at is not None
        and received_at is not None
        and scores[NoticeKind.outage]
        and not scores[NoticeKind.service_window]
        and starts_at - received_at > timedelta(hours=12)
    ):
        scores[NoticeKind.service_window] = scores[NoticeKind.outage]
        evidence[NoticeKind.service_window].append(
            Evidence(_("Avbrottet ligger i framtiden, alltså planerat"), "")
        )
        scores[NoticeKind.outage] -= 1
    best = max(_KIND_ORDER, key=lambda kind: (scores[kind], -_KIND_ORDER.index(kind)))
    if scores[best] == 0:
        return None, ()
    return best, tuple(evidence[best])


# --- times -----------------------------------------------------------------------------

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "maj": 5,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "okt": 10,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_NAME = (
    r"(?:jan(?:uari|uary)?|feb(?:ruari|ruary)?|mar(?:s|ch)?|apr(?:il)?|maj|may|jun(?:i|e)?|"
    r"jul(?:i|y)?|aug(?:usti|ust)?|sep(?:t(?:ember)?)?|okt(?:ober)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_HOUR = r"(?:[01]?\d|2[0-4])"
_MIN = r"[0-5]\d"
# A clock time: "kl. 19.00", "kl 19", "19:00", "19.00" (the last only in a range or after a date).
_KL = r"kl(?:\.|ockan)?[ \t]*"
_CLOCK = rf"(?:(?:{_KL})?{_HOUR}[.:]{_MIN}|{_KL}{_HOUR})"
_CLOCK_END = r"(?![\w:]|\.\d)"
_RELATIVE_DAYS = r"i[ \t]?dag|i[ \t]?kväll|i[ \t]?natt|i[ \t]?morgon|today|tonight|tomorrow"
# Words that introduce the end of a window in structured mails ("Sluttid: …").
_END_LABELS = (
    r"sluttid|slut|beräknad[ \t]+sluttid|beräknas[ \t]+(?:vara[ \t]+)?klart?|klart[ \t]+senast|"
    r"avslutas|avslutades|åter[ \t]+i[ \t]+drift|åtgärdad|åtgärdades|end[ \t]+time|ends|ended|resolved"
)
_RANGE_DASH = r"[ \t]*(?:[-–—]|till|to|until)[ \t]*"

_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<iso>(?<!\d)(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})(?!\d))",
            # "3 december", "3:e dec.", "3–4 december 2024", "mellan 3 och 4 december"
            rf"(?P<text>(?<![\w.:])(?:(?P<text_d0>\d{{1,2}})(?::?e)?[ \t]*(?:[-–—]|och|till)[ \t]*)?"
            rf"(?P<text_d>\d{{1,2}})(?::?e)?[ \t]+(?P<text_m>{_MONTH_NAME})\.?(?!\w)"
            rf"(?:,?[ \t]+(?P<text_y>\d{{4}})(?!\d))?)",
            # "24/7" is round the clock, not 24 July.
            r"(?P<num>(?<![\d/])(?!24/7(?![\d/]))(?P<num_d>\d{1,2})/(?P<num_m>\d{1,2})(?:/(?P<num_y>\d{4}|\d{2}))?(?![\d/]))",
            rf"(?P<rel>(?<!\w)(?:{_RELATIVE_DAYS})(?!\w))",
            # "kl. 19.00–23.00", "kl 19-23", "19:00 - 23:00", "19.00–23.00"
            rf"(?P<range>(?<![\w.:])(?P<r1>{_CLOCK}|{_HOUR}[.:]{_MIN}){_RANGE_DASH}"
            rf"(?P<r2>(?:{_KL})?{_HOUR}(?:[.:]{_MIN})?)(?![\w:/]|\.\d|[ \t]*{_MONTH_NAME}(?!\w)))",
            rf"(?P<clock>(?<![\w.:])(?:{_KL}{_HOUR}(?:[.:]{_MIN})?|{_HOUR}:{_MIN}){_CLOCK_END})",
            rf"(?P<dotclock>(?<![\w.:]){_HOUR}\.{_MIN}{_CLOCK_END})",
            r"(?P<sep>(?<!\w)(?:till|to|until|fram till|och|and)(?!\w)|[ \t][-–—][ \t]|–|—)",
            rf"(?P<endlabel>(?<!\w)(?:{_END_LABELS})(?!\w))",
            r"(?P<from>(?<!\w)(?:från|mellan|from|between|sedan|since)(?!\w))",
            r"(?P<stop>\n[ \t]*\n)",
        ]
    ),
    re.IGNORECASE,
)
_CLOCK_PARTS = re.compile(rf"({_HOUR})(?:[.:]({_MIN}))?\s*$")
# The header block of a forwarded mail ("Från: …" and the lines after it) and a quote's
# "Den 19 nov. 2024 kl. 14:03 skrev …:" carry dates that are not the event's.
_FORWARD_HEADER = re.compile(
    r"^[ \t>]*(?:från|from)[ \t]*:.*(?:\n[ \t>]*(?:skickat|sent|date|datum|till|to|kopia|cc|ämne|subject)"
    r"[ \t]*:.*)+$|^.*(?<!\w)(?:skrev|wrote)(?!\w)[^\n]*:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass
class _Token:
    kind: str  # date, time, range, sep, from, stop
    start: int
    end: int
    text: str
    day: date | None = None
    year_given: bool = True
    clock: time | None = None
    overflow: bool = False  # "24.00": the next midnight
    clock_end: time | None = None
    end_overflow: bool = False
    weak: bool = False
    day_end: date | None = None  # "3–4 december": the last day of a span of days


def _clock(text: str) -> tuple[time, bool] | None:
    match = _CLOCK_PARTS.search(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour == 24:
        return (time(0, 0), True) if minute == 0 else None
    return time(hour, minute), False


def _resolve_year(month: int, day: int, after: date) -> date | None:
    """The next ``day``/``month`` on or after ``after`` (None if it is no date)."""
    for year in (after.year, after.year + 1, after.year + 2):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= after:
            return candidate
    return None


def _date(year: int | None, month: int, day: int, reference: date) -> tuple[date, bool] | None:
    if year is None:
        resolved = _resolve_year(month, day, reference - HINDSIGHT)
        return (resolved, False) if resolved else None
    if year < 100:
        year += 2000
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return None
    try:
        return date(year, month, day), True
    except ValueError:
        return None


def _relative(word: str, today: date) -> date:
    folded = word.casefold().replace(" ", "").replace("\t", "")
    return today + timedelta(days=1) if folded in ("imorgon", "tomorrow") else today


def _tokens(text: str, today: date) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        group = match.lastgroup
        token = _Token(kind="", start=match.start(), end=match.end(), text=match.group())
        if group in ("iso", "text", "num", "rel"):
            token.kind = "date"
            if group == "iso":
                found = _date(int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"]), today)
            elif group == "text":
                month = _MONTHS[match["text_m"][:3].casefold()]
                year = int(match["text_y"]) if match["text_y"] else None
                found = _date(year, month, int(match["text_d"]), today)
                if found is not None and match["text_d0"]:
                    first_day = _date(found[0].year, month, int(match["text_d0"]), today)
                    if first_day is not None and first_day[0] < found[0]:
                        token.day_end, found = found[0], (first_day[0], found[1])
            elif group == "num":
                year = int(match["num_y"]) if match["num_y"] else None
                found = _date(year, int(match["num_m"]), int(match["num_d"]), today)
            else:
                found = (_relative(match.group(), today), False)
            if found is None:
                continue
            token.day, token.year_given = found
        elif group == "range":
            first, second = _clock(match["r1"]), _clock(match["r2"])
            if first is None or second is None or first[1]:
                continue
            token.kind = "range"
            token.clock, token.overflow = first
            token.clock_end, token.end_overflow = second
        elif group in ("clock", "dotclock"):
            found_clock = _clock(match.group())
            if found_clock is None:
                continue
            token.kind = "time"
            token.clock, token.overflow = found_clock
            token.weak = group == "dotclock"
        elif group == "stop":
            token.kind = "stop"
        else:
            token.kind = group or ""
        tokens.append(token)
    return tokens


@dataclass
class _Found:
    start_day: date | None
    start_clock: time | None
    end_day: date | None = None
    end_clock: time | None = None
    end_overflow: bool = False
    first: int = 0
    last: int = 0
    span_end: date | None = None  # the last day of "3–4 december"

    @property
    def score(self) -> int:
        return (
            (2 if self.start_day is not None else 0)
            + (2 if self.start_clock is not None else 0)
            + (1 if self.end_clock is not None or self.end_day is not None else 0)
        )


def _candidates(tokens: list[_Token], today: date) -> list[_Found]:
    found: list[_Found] = []
    current_day: date | None = None
    open_: _Found | None = None  # a start waiting for its end
    separated = False
    dateless: _Found | None = None  # a time written before its date ("kl. 19–23 den 3 dec")
    for token in tokens:
        if open_ is not None and token.start - open_.last > MAX_RANGE_GAP:
            open_, separated = None, False
        if token.kind == "stop":
            open_, separated, current_day, dateless = None, False, None, None
        elif token.kind == "date":
            assert token.day is not None
            if (
                dateless is not None
                and token.start - dateless.last <= DATE_AFTER_TIME_GAP
                and not (open_ is dateless and separated)
            ):
                dateless.start_day, dateless.last = token.day, token.end
                current_day, dateless = token.day, None
                continue
            dateless = None
            if open_ is not None and separated and open_.end_day is None:
                day = token.day
                if not token.year_given and open_.start_day is not None:
                    day = _resolve_year(day.month, day.day, open_.start_day) or day
                open_.end_day, open_.last = day, token.end
                current_day = day
                continue
            if open_ is not None and open_.start_clock is None and not separated:
                open_ = None  # a date alone; the next one starts afresh
            current_day = token.day
            open_ = _Found(current_day, None, first=token.start, last=token.end, span_end=token.day_end)
            found.append(open_)
            separated = False
        elif token.kind == "range":
            if open_ is not None and open_.start_clock is None and open_.end_day is None:
                open_.start_clock, open_.end_clock = token.clock, token.clock_end
                open_.end_overflow, open_.last = token.end_overflow, token.end
            else:
                open_ = _Found(
                    current_day, token.clock, end_clock=token.clock_end, end_overflow=token.end_overflow
                )
                open_.first, open_.last = token.start, token.end
                found.append(open_)
                if current_day is None:
                    dateless = open_
            open_ = None
            separated = False
        elif token.kind == "time":
            near = open_ is not None and (
                token.start - open_.last <= 3 or (separated and open_.start_clock is not None)
            )
            if token.weak and not near:
                continue  # "5.30" far from a date, "kl." or a range is a version number
            if open_ is not None and open_.start_clock is None and open_.end_day is None:
                open_.start_clock, open_.last = token.clock, token.end
                if token.overflow:
                    open_.start_clock = None  # "kl. 24.00" is no start
            elif open_ is not None and open_.start_clock is not None and (separated or open_.end_day):
                open_.end_clock, open_.end_overflow, open_.last = token.clock, token.overflow, token.end
                if open_.end_day is None:
                    open_.end_day = open_.start_day
                open_, separated = None, False
            elif open_ is not None and open_.end_day is not None:
                open_.end_clock, open_.end_overflow, open_.last = token.clock, token.overflow, token.end
                open_, separated = None, False
            elif not token.overflow:
                open_ = _Found(current_day, token.clock, first=token.start, last=token.end)
                found.append(open_)
                separated = False
                if current_day is None:
                    dateless = open_
        elif token.kind in ("sep", "endlabel"):
            if open_ is not None and token.start - open_.last <= MAX_RANGE_GAP:
                separated = True
        elif token.kind == "from":
            if open_ is not None and open_.start_clock is not None:
                open_ = None
            separated = False
    return found


def _local_date(moment: datetime) -> date:
    try:
        return moment.astimezone(STOCKHOLM).date()
    except OverflowError:  # the first or last hours Python can hold
        return moment.date()


def _local(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=STOCKHOLM).astimezone(UTC)


def find_times(
    text: str, *, received_at: datetime
) -> tuple[datetime | None, datetime | None, Evidence | None]:
    """The first, most complete time (range) written in ``text``, as aware UTC."""
    text = _FORWARD_HEADER.sub("", text[:MAX_TEXT])
    # A received_at far outside the years we read would take date arithmetic out of range.
    today = min(max(_local_date(received_at), date(EARLIEST_YEAR + 1, 1, 1)), date(LATEST_YEAR - 1, 12, 31))
    candidates = _candidates(_tokens(text, today), today)
    if not candidates:
        return None, None, None
    best = max(candidates, key=lambda c: (c.score, -c.first))
    start_day = best.start_day or today
    start_clock = best.start_clock or time(0, 0)
    starts_at = _local(start_day, start_clock)
    ends_at = None
    if best.span_end is not None and best.end_day in (None, best.start_day):
        # "natten mellan 3 och 4 december kl. 23–05": the clock range spans the days.
        best.end_day = best.span_end
    if best.end_clock is not None or best.end_day is not None:
        end_day = best.end_day or start_day
        end_clock = best.end_clock or time(0, 0)
        if best.end_day is not None and best.end_clock is None:
            end_day += timedelta(days=1)  # "3 december till 5 december": through the 5th
        if best.end_overflow:
            end_day += timedelta(days=1)
        ends_at = _local(end_day, end_clock)
        if ends_at < starts_at and best.end_day in (None, start_day):
            ends_at = _local(end_day + timedelta(days=1), end_clock)  # over midnight
        if ends_at < starts_at:
            ends_at = None
    excerpt = " ".join(text[best.first : best.last].split())
    if best.start_day is None:
        reason = _('Klockslaget "%(text)s", dagen då meddelandet kom', text=excerpt)
    elif best.start_clock is None:
        reason = _('Datumet "%(text)s" utan klockslag', text=excerpt)
    else:
        reason = _('Tiden "%(text)s" (svensk tid)', text=excerpt)
    return starts_at, ends_at, Evidence(reason, excerpt)


# --- national services -----------------------------------------------------------------

# National 1177 e-services and Inera services, longest names first so "1177 Journalen" is
# found as one name rather than as "Journalen".
NATIONAL_SERVICES: tuple[str, ...] = (
    "e-tjänster på 1177.se",
    "e-tjänsterna på 1177.se",
    "1177 e-tjänster",
    "1177 Journalen",
    "Journalen",
    "1177 på telefon",
    "1177 Vårdguiden",
    "Vårdguiden",
    "Webbtidboken",
    "Webbtidbok",
    "Tidbokning",
    "Stöd och behandling",
    "Stöd- och behandlingsplattformen",
    "Mina meddelanden",
    "Mina vårdkontakter",
    "Vårdgivarwebben",
    "Nationell patientöversikt",
    "NPÖ",
    "Invånartjänster",
    "Egen provhantering",
    "Förnya recept",
    "Läkemedelslistan",
    "Intygstjänster",
    "Säker inloggning",
    "SITHS",
    "HSA",
    "Pascal",
    "Inera",
    "1177.se",
)


def _escaped(name: str) -> str:
    return _SPACE.join(re.escape(word) for word in name.split())


_SERVICE_PATTERN = re.compile(
    "|".join(rf"(?<!\w){_escaped(name)}(?!\w)" for name in sorted(NATIONAL_SERVICES, key=len, reverse=True)),
    re.IGNORECASE,
)


def find_services(subject: str, body: str) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    names: list[str] = []
    evidence: list[Evidence] = []
    seen: set[str] = set()
    for where, text in (("subject", subject), ("body", body[:MAX_TEXT])):
        for match in _SERVICE_PATTERN.finditer(text):
            name = " ".join(match.group().split())
            # "Journalen" after "1177 Journalen" is the same service again.
            if any(re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", other) for other in seen):
                continue
            seen.add(name.casefold())
            names.append(name)
            if where == "subject":
                reason = _('Tjänsten "%(name)s" nämns i ämnesraden', name=name)
            else:
                reason = _('Tjänsten "%(name)s" nämns i texten', name=name)
            evidence.append(Evidence(reason, match.group()))
    return tuple(names), tuple(evidence)


def understand(subject: str, body: str, *, received_at: datetime) -> Understanding:
    """What a national item says, as a guess with its evidence."""
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    subject, body = subject or "", body or ""
    starts_at, ends_at, time_evidence = find_times(f"{subject}\n\n{body}", received_at=received_at)
    kind, kind_evidence = guess_kind(subject, body, starts_at, received_at)
    services, service_evidence = find_services(subject, body)
    return Understanding(
        kind=kind,
        kind_evidence=kind_evidence,
        starts_at=starts_at,
        ends_at=ends_at,
        time_evidence=(time_evidence,) if time_evidence else (),
        services=services,
        service_evidence=service_evidence,
    )
