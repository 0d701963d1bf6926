"""Marshmallow's and webargs' validation messages, through our catalogue.

Marshmallow formats its English templates ("Length must be between {min} and {max}.")
before we see them. Rather than repeat every template in every schema, the API's error
handler passes each message through ``translate``: it recognises the English template,
takes out the values and formats our catalogued text with them, in the request's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _


def N_(msgid: str) -> str:  # noqa: N802 – Babel's default keyword for "extract, translate later"
    return msgid


_PLACEHOLDER = re.compile(r"\{(\w+)(?:![rs])?\}")

# English template as marshmallow/webargs write it → our message with the same names.
TEMPLATES: dict[str, str] = {
    # fields
    "Missing data for required field.": N_("Fältet måste anges."),
    "Field may not be null.": N_("Fältet får inte vara tomt (null)."),
    "Invalid value.": N_("Ogiltigt värde."),
    "Not a valid {obj_type}.": N_("Inte ett giltigt värde av typen %(obj_type)s."),
    "Not a valid {awareness} {obj_type}.": N_(
        "Inte ett giltigt värde av typen %(obj_type)s (%(awareness)s)."
    ),
    '"{input}" cannot be formatted as a {obj_type}.': N_("”%(input)s” kan inte skrivas som %(obj_type)s."),
    "Not a valid boolean.": N_("Inte ett giltigt sant/falskt-värde."),
    "Not a valid date.": N_("Inte ett giltigt datum."),
    '"{input}" cannot be formatted as a date.': N_("”%(input)s” kan inte skrivas som datum."),
    "Not a valid datetime.": N_("Inte en giltig tidpunkt. Skriv enligt ISO 8601."),
    "Not a valid naive datetime.": N_("Inte en giltig tidpunkt utan tidszon."),
    "Not a valid aware datetime.": N_("Inte en giltig tidpunkt med tidszon."),
    "Special numeric values (nan or infinity) are not permitted.": N_(
        "Specialvärden (nan eller oändligt) är inte tillåtna."
    ),
    "Not a valid mapping type.": N_("Inte ett giltigt objekt."),
    "Not a valid email address.": N_("Inte en giltig e-postadress."),
    "Must be one of: {choices}.": N_("Måste vara ett av: %(choices)s."),
    "Not a valid integer.": N_("Inte ett giltigt heltal."),
    "Not a valid list.": N_("Inte en giltig lista."),
    "Invalid type.": N_("Fel typ."),
    "Not a valid number.": N_("Inte ett giltigt tal."),
    "Number too large.": N_("Talet är för stort."),
    "Not a valid string.": N_("Inte en giltig text."),
    "Not a valid utf-8 string.": N_("Inte en giltig UTF-8-text."),
    "Not a valid tuple.": N_("Inte en giltig tupel."),
    "Not a valid URL.": N_("Inte en giltig webbadress."),
    "Not a valid UUID.": N_("Inte ett giltigt UUID."),
    "Not a valid period of time.": N_("Inte en giltig tidslängd."),
    "{input!r} cannot be formatted as a timedelta.": N_("%(input)s kan inte skrivas som tidslängd."),
    "Not a valid IP address.": N_("Inte en giltig IP-adress."),
    "Not a valid IPv4 address.": N_("Inte en giltig IPv4-adress."),
    "Not a valid IPv6 address.": N_("Inte en giltig IPv6-adress."),
    "Not a valid IP interface.": N_("Inte ett giltigt IP-gränssnitt."),
    "Not a valid IPv4 interface.": N_("Inte ett giltigt IPv4-gränssnitt."),
    "Not a valid IPv6 interface.": N_("Inte ett giltigt IPv6-gränssnitt."),
    # validators
    "Shorter than minimum length {min}.": N_("Kortare än minsta längden %(min)s."),
    "Longer than maximum length {max}.": N_("Längre än största längden %(max)s."),
    "Length must be between {min} and {max}.": N_("Längden måste vara mellan %(min)s och %(max)s."),
    "Length must be {equal}.": N_("Längden måste vara %(equal)s."),
    "Must be equal to {other}.": N_("Måste vara lika med %(other)s."),
    "Invalid input.": N_("Ogiltig inmatning."),
    "String does not match expected pattern.": N_("Texten har inte det väntade formatet."),
    "One or more of the choices you made was in: {values}.": N_(
        "Minst ett av valen finns bland: %(values)s."
    ),
    "One or more of the choices you made was not in: {choices}.": N_(
        "Minst ett av valen finns inte bland: %(choices)s."
    ),
    "Must be greater than or equal to {min}.": N_("Måste vara minst %(min)s."),
    "Must be greater than {min}.": N_("Måste vara större än %(min)s."),
    "Must be less than or equal to {max}.": N_("Får vara högst %(max)s."),
    "Must be less than {max}.": N_("Måste vara mindre än %(max)s."),
    "Must be greater than or equal to {min} and less than or equal to {max}.": N_(
        "Måste vara mellan %(min)s och %(max)s."
    ),
    "Must be greater than {min} and less than {max}.": N_(
        "Måste vara större än %(min)s och mindre än %(max)s."
    ),
    "Must be greater than or equal to {min} and less than {max}.": N_(
        "Måste vara minst %(min)s och mindre än %(max)s."
    ),
    "Must be greater than {min} and less than or equal to {max}.": N_(
        "Måste vara större än %(min)s och högst %(max)s."
    ),
    # schema level and webargs
    "Invalid input type.": N_("Fel typ av indata: skicka ett JSON-objekt."),
    "Unknown field.": N_("Okänt fält."),
    "Invalid JSON body.": N_("Innehållet är inte giltig JSON."),
}


def _matcher(template: str) -> re.Pattern[str]:
    pattern = ""
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[position : match.start()]) + f"(?P<{match[1]}>.+?)"
        position = match.end()
    return re.compile(pattern + re.escape(template[position:]) + r"\Z", re.DOTALL)


# Built once: patterns are data, not state.
_MATCHERS: list[tuple[re.Pattern[str], str]] = sorted(
    ((_matcher(template), text) for template, text in TEMPLATES.items()),
    key=lambda pair: -len(pair[0].pattern),  # the most specific template first
)


def translate(message: str, gettext: Callable[..., str] = _) -> str:
    """``message`` in the current language when it is one of the library's templates."""
    for pattern, text in _MATCHERS:
        found = pattern.match(message)
        if found:
            return gettext(text, **found.groupdict())
    return message
