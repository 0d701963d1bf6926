"""Subjects keep their words: RFC 2047 encoding of Swedish text, checked by decoding it
back the way mail clients do (the email package's parser) over generated subjects."""

from __future__ import annotations

import re
from email import message_from_bytes
from email import policy as email_policy

from hypothesis import given, settings
from hypothesis import strategies as st

from commsplan.delivery.mime import fold_header

ENCODED_WORD = re.compile(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=")
WORDS = st.sampled_from(
    [
        "Servicefönster:",
        "Servicefönster",
        "servicefönster",
        "Påminnelse",
        "Inställt:",
        "Ändrat:",
        "Nätverket",
        "Invånartjänster",
        "Journalen",
        "Webbtidbok",
        "2027-02-10",
        "13.00",
        "–",
        "Åtgärdad:",
        "driftstörning",
        "e-tjänster",
        "(release",
        "2.4)",
        "Region",
        "Uppsala",
        "i",
        "på",
        "och",
        "för",
    ]
)
SUBJECTS = st.one_of(
    st.lists(WORDS, min_size=1, max_size=25).map(" ".join),
    st.text(
        alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzåäöÅÄÖé:;,.-–()?=_\"' 0123456789"),
        min_size=1,
        max_size=200,
    ).map(lambda s: " ".join(s.split())),
).filter(bool)


def _subject_of(line: bytes) -> str:
    message = message_from_bytes(line + b"\r\n", policy=email_policy.default)
    return str(message["Subject"])


@settings(max_examples=400, deadline=None)
@given(SUBJECTS)
def test_an_encoded_subject_decodes_to_the_same_words(subject: str) -> None:
    line = fold_header("Subject", subject)
    assert _subject_of(line) == subject
    for word in ENCODED_WORD.findall(line):
        assert len(word) <= 75, word
    for physical in line.split(b"\r\n"):
        assert len(physical) <= 78, physical


def test_the_subjects_that_lost_a_space_or_grew_a_76_character_word():
    lost_space = "(release Åtgärdad: Region Servicefönster Servicefönster:"
    assert _subject_of(fold_header("Subject", lost_space)) == lost_space
    long_word = " ".join(["Servicefönster:"] * 6)
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(fold_header("Subject", long_word)))


def test_every_mail_says_it_is_automatic_and_dates_itself_with_a_numeric_zone(put, drain, outbox):
    put("anna@example.org", "bo@example.org", subject="Servicefönster: Journalen")
    assert drain().sent == 2
    for mail in outbox.messages:
        # Out-of-office replies are not sent to auto-generated bulk mail (RFC 3834).
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["Precedence"] == "bulk"
        assert re.fullmatch(r"Kommunikationsplan 1177 <commsplan\.[a-z0-9.-]+>", str(mail["List-Id"]))
        date_header = str(mail["Date"])
        assert date_header.endswith("+0000") and "GMT" not in date_header
        assert mail["Date"].datetime.utcoffset() is not None
