"""The checklist templates every installation starts with, in the plan's own wording.

Used by ``ensure_default_templates`` (the demo and the first activity) and copied into the
migration that creates the tables, so a fresh installation has them after ``db upgrade``.
"""

from __future__ import annotations

from commsplan.activities.models import AnswerKind


def N_(text: str) -> str:
    """Marks a shipped template's name and description for the catalogue (pybabel's N_
    keyword) while storing the Swedish text; ``template_name`` shows it translated."""
    return text


ACTIVITY_TEMPLATE_KEY = "activity"
EDITORIAL_TEMPLATE_KEY = "editorial"

# Seed 003, *Att tänka på vid olika aktivitetsinsatser*: the seven questions word for word.
ACTIVITY_QUESTIONS: list[tuple[str, AnswerKind]] = [
    ("Har aktiviteten ett informationsvärde för våra intressenter?", AnswerKind.information_value),
    ("Vilka målgrupper är direkt/indirekt berörda?", AnswerKind.target_groups),
    ("Vad är syftet med informationen?", AnswerKind.purpose),
    ("Vad ska informeras om för respektive målgrupp? Vad är kärnan?", AnswerKind.core_messages),
    ("Genom vilka informationskanaler når vi bäst respektive målgrupp?", AnswerKind.group_channels),
    ("När ska informationen ges?", AnswerKind.timing),
    ("Vem ansvarar?", AnswerKind.responsible),
]

# Seed 000, Region Stockholm's editorial assessment of new regional content: six criteria
# and the two boundaries (*Avgränsningar*), which must be confirmed.
EDITORIAL_QUESTIONS: list[tuple[str, AnswerKind]] = [
    (
        "Finns likande innehåll på sajten redan, vad tillför den nya produkten/produktionen?",
        AnswerKind.text,
    ),
    (
        "Kommer produktionen att följa 1177-riktlinjerna (språkligt, bildmässigt, budskapsmässigt)?",
        AnswerKind.text,
    ),
    ("Vilken är målgruppen?", AnswerKind.text),
    (
        "Är innehållet regionalt anpassat för Stockholms läns invånare eller kan det komma fler "
        "regioner till godo? (I så fall; överväg att kontakta Inera).",
        AnswerKind.text,
    ),
    (
        "Vem står bakom produktionen, är den konkurrensneutral och fri från kommersiella intressen?",
        AnswerKind.text,
    ),
    (
        "Hur ska den förvaltas? (Det vill säga vem ansvarar för livslängden, hur uppdateras den, "
        "när avpubliceras den)?",
        AnswerKind.text,
    ),
    (
        "Inte skriver om pågående projekt, studier eller forskningsprojekt förrän de har blivit "
        "permanent verksamhet.",
        AnswerKind.confirm,
    ),
    (
        "Inte kan söka personer till studier eller forskning via det öppna läget på 1177.se.",
        AnswerKind.confirm,
    ),
]

TEMPLATES: list[tuple[str, str, str, list[tuple[str, AnswerKind]]]] = [
    (
        ACTIVITY_TEMPLATE_KEY,
        N_("Att tänka på vid olika aktivitetsinsatser"),
        N_("Kommunikationsplanens frågeställningar för varje aktivitet."),
        ACTIVITY_QUESTIONS,
    ),
    (
        EDITORIAL_TEMPLATE_KEY,
        N_("Redaktionell bedömning av nytt regionalt innehåll"),
        N_(
            "Region Stockholms bedömningspunkter och avgränsningar för 1177.se. "
            "Avgränsningarna bekräftas: uppdraget för 1177 är att beskriva vården utifrån "
            "evidens och beprövad erfarenhet. Det innebär att vi …"
        ),
        EDITORIAL_QUESTIONS,
    ),
]
