"""The English catalogue covers every user-visible string the code and templates mark."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "commsplan" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _catalogue(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def _key(message) -> str:  # type: ignore[no-untyped-def]
    return message.id[0] if isinstance(message.id, tuple) else message.id


def test_every_msgid_has_a_finished_english_translation():
    template = _catalogue(TRANSLATIONS / "messages.pot")
    english = _catalogue(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    problems = []
    for entry in template:
        if not entry.id:
            continue
        translated = english.get(entry.id)
        if translated is None:
            problems.append(("missing", _key(entry)))
            continue
        strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        if translated.fuzzy or not all(strings):
            problems.append(("fuzzy" if translated.fuzzy else "empty", _key(entry)))
    assert problems == [], "\n".join(map(str, problems))
    assert len(template) > 500


def test_every_string_marked_in_the_source_is_translated_even_before_extraction():
    """Catches text added to code or templates without running the extraction."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    english = _catalogue(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    missing = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if filename.startswith((".venv", ".")):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        translated = english.get(message if isinstance(message, str) else message[0])
        strings = () if translated is None else translated.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or translated.fuzzy or not all(strings):
            missing.append(f"{filename}:{lineno}: {msgid}")
    assert missing == [], "\n".join(missing)
