"""Notice mail as it arrives at a real SMTP server: subjects, parts, threading, headers."""

from __future__ import annotations

import re
from datetime import timedelta

import vobject

from commsplan.notices import services
from commsplan.notices.models import NoticeKind, OutageState
from tests.notices.helpers import make_notice, small_plan


def _deliver(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["commsplan", "deliver"])
    assert result.exit_code == 0, result.output


def test_published_outage_arrives_with_prefix_parts_and_links(session, runner, outbox):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id], body_markdown="Vi **felsöker**.")
    services.publish(session, notice, None)
    session.commit()

    _deliver(runner)

    assert sorted(a for e in outbox.envelopes for a in e.rcpt_tos) == [
        "drift@example.org",
        "strateg@example.org",
    ]
    mail = outbox.to("drift@example.org")[0]
    assert mail["Subject"] == "Driftstörning: Journalen går inte att nå"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Vi **felsöker**." in text
    assert "<strong>felsöker</strong>" in html
    link = f"https://commsplan.example.org/status/{notice.uid}"
    assert link in text and link in html
    assert "Berörda e-tjänster: Journalen" in text
    # The first mail about a notice starts the thread: nothing to refer to.
    assert mail["References"] is None and mail["In-Reply-To"] is None
    assert mail["Thread-Topic"] == "Driftstörning: Journalen går inte att nå"
    # Duty mail (both are on the list because of the plan) links to the person's own
    # preferences page, never to a global unsubscribe: no List-Unsubscribe header.
    assert "https://commsplan.example.org/preferences/" in text
    assert 'href="https://commsplan.example.org/preferences/' in html
    assert "%%" not in text and "%%" not in html
    assert mail["List-Unsubscribe"] is None
    assert mail["List-Unsubscribe-Post"] is None
    other = outbox.to("strateg@example.org")[0]
    assert other["Message-ID"] != mail["Message-ID"]
    assert other.get_body(("plain",)).get_content() != text  # each its own signed link


def test_updates_thread_under_the_first_mail(session, runner, outbox):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    services.publish(session, notice, None)
    session.commit()
    services.post_update(session, notice, None, "Orsaken är hittad.", OutageState.identified)
    session.commit()
    services.close(session, notice, None, "Löst.")
    session.commit()

    _deliver(runner)

    mails = outbox.to("drift@example.org")
    subjects = sorted(m["Subject"] for m in mails)
    assert subjects == [
        "Driftstörning: Journalen går inte att nå",
        "[Avslutat] Driftstörning: Journalen går inte att nå",
        "[Uppdatering] Driftstörning: Journalen går inte att nå",
    ]
    # Later mails refer to the Message-ID the first mail to this reader really carried.
    first = next(m for m in mails if m["Subject"].startswith("Driftstörning"))
    root = first["Message-ID"]
    for later in (m for m in mails if m is not first):
        assert later["In-Reply-To"] == root
        assert str(later["References"]).split()[0] == root
        assert later["Thread-Topic"] == "Driftstörning: Journalen går inte att nå"
    others = outbox.to("strateg@example.org")
    assert {str(m["In-Reply-To"]) for m in others if m["In-Reply-To"]} == {
        next(m for m in others if m["Subject"].startswith("Driftstörning"))["Message-ID"]
    }
    update = next(m for m in mails if m["Subject"].startswith("[Uppdatering]"))
    assert "Orsaken är hittad." in update.get_body(("plain",)).get_content()
    assert "Orsaken är identifierad" in update.get_body(("plain",)).get_content()
    assert len({m["Message-ID"] for m in mails}) == 3


def test_subject_prefix_per_kind(session, runner, outbox):
    for kind, title in [
        (NoticeKind.service_window, "Planerat servicefönster: Fönster"),
        (NoticeKind.release, "Release: Ny version av Journalen"),
        (NoticeKind.general, "Information: Nytt i 1177"),
    ]:
        notice = make_notice(session, kind, title=title.split(": ")[1])
        services.add_recipient(session, notice, "mottagare@example.org")
        services.publish(session, notice, None)
    session.commit()
    _deliver(runner)
    assert sorted(m["Subject"] for m in outbox.messages) == [
        "Information: Nytt i 1177",
        "Planerat servicefönster: Fönster",
        "Release: Ny version av Journalen",
    ]


def test_release_subject_does_not_repeat_release(session, runner, outbox):
    notice = make_notice(session, NoticeKind.release, title="Release 2.3 av Journalen")
    services.add_recipient(session, notice, "mottagare@example.org")
    services.publish(session, notice, None)
    session.commit()
    services.post_update(session, notice, None, "Datumet är flyttat.")
    session.commit()
    _deliver(runner)
    assert sorted(m["Subject"] for m in outbox.messages) == [
        "Release 2.3 av Journalen",
        "[Uppdatering] Release 2.3 av Journalen",
    ]


def test_header_injection_through_title_is_impossible(session, runner, outbox):
    notice = make_notice(session, title="Fel\r\nBcc: x@evil.example\r\nX-Injected: ja")
    services.add_recipient(session, notice, "mottagare@example.org")
    services.publish(session, notice, None)
    session.commit()

    _deliver(runner)

    assert len(outbox.messages) == 1
    assert outbox.envelopes[0].rcpt_tos == ["mottagare@example.org"]
    mail = outbox.messages[0]
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert "\n" not in mail["Subject"] and "\r" not in mail["Subject"]
    assert mail["Subject"] == "Driftstörning: Fel Bcc: x@evil.example X-Injected: ja"


def _window_calendar(mail):  # type: ignore[no-untyped-def]
    [attachment] = [p for p in mail.iter_attachments() if p.get_filename() == "servicefonster.ics"]
    assert attachment.get_content_type() == "text/calendar"
    return vobject.readOne(attachment.get_content())


def test_service_window_mail_carries_the_window_as_ics(session, runner, outbox):
    notice = make_notice(session, NoticeKind.service_window)
    services.add_recipient(session, notice, "mottagare@example.org")
    services.publish(session, notice, None)
    session.commit()
    _deliver(runner)
    [published] = outbox.messages
    calendar = _window_calendar(published)
    assert calendar.method.value == "PUBLISH"
    event = calendar.vevent
    assert event.uid.value == notice.uid
    assert event.dtstart.value == notice.starts_at and event.dtend.value == notice.ends_at
    assert event.url.value == f"https://commsplan.example.org/status/{notice.uid}"
    assert "servicefonster.ics" in published.get_body(("plain",)).get_content()

    outbox.clear()
    later = notice.starts_at + timedelta(days=1)
    services.reschedule(session, notice, None, later, later + timedelta(hours=3))
    session.commit()
    services.cancel(session, notice, None, "Behövs inte.")
    session.commit()
    _deliver(runner)
    moved, cancelled = sorted(outbox.messages, key=lambda m: m["Subject"].startswith("[Inställt]"))
    moved_event = _window_calendar(moved).vevent
    assert moved_event.uid.value == notice.uid
    assert moved_event.dtstart.value == later and int(moved_event.sequence.value) > int(event.sequence.value)
    assert _window_calendar(cancelled).vevent.status.value == "CANCELLED"


def _gmail_subject_key(subject: str) -> str:
    """How Gmail matches subjects into one conversation: reply/forward prefixes and a
    leading bracketed tag are ignored, anything else counts (docs/notices-and-api.md)."""
    key = subject.strip()
    while True:
        stripped = re.sub(r"^(?:(?:re|fwd?|sv|vb)\s*:\s*|\[[^\]]*\]\s*)", "", key, flags=re.IGNORECASE)
        if stripped == key:
            return key
        key = stripped


def _outlook_prefix_rule(subject: str) -> str:
    """MAPI's normalised subject: one to three non-numeric characters, colon, space."""
    return re.sub(r"^[^\W\d_]{1,3}: ", "", subject)


def test_every_mail_of_a_notice_groups_into_one_conversation(session, runner, outbox):
    notice = make_notice(session, title="Journalen går inte att nå")
    services.add_recipient(session, notice, "lasare@example.org")
    services.publish(session, notice, None)
    session.commit()
    services.post_update(session, notice, None, "Orsaken är hittad.", OutageState.identified)
    session.commit()
    services.close(session, notice, None, "Löst.")
    session.commit()
    _deliver(runner)

    first, update, closed = outbox.to("lasare@example.org")
    stem = "Driftstörning: Journalen går inte att nå"
    assert first["Subject"] == stem
    # The kind of update stays visible, before the stem.
    assert update["Subject"] == "[Uppdatering] " + stem
    assert closed["Subject"] == "[Avslutat] " + stem
    assert {_gmail_subject_key(m["Subject"]) for m in (first, update, closed)} == {stem}
    # Outlook: its own prefix rule would not strip "[Uppdatering] ", so the conversation
    # topic comes from Thread-Topic, the same stem on every mail.
    assert {m["Thread-Topic"] for m in (first, update, closed)} == {stem}
    assert _outlook_prefix_rule(first["Subject"]) == stem


def test_thread_starts_at_the_first_mail_the_reader_actually_received(session, runner, outbox):
    notice = make_notice(session)
    services.add_recipient(session, notice, "lasare@example.org")
    services.publish(session, notice, None)
    session.commit()
    outbox.scripted_replies.append("550 5.1.1 Mailbox unavailable")
    _deliver(runner)
    assert outbox.messages == []  # the first mail was refused: the reader never had it

    services.post_update(session, notice, None, "Orsaken är hittad.")
    session.commit()
    services.close(session, notice, None, "Löst.")
    session.commit()
    _deliver(runner)

    update, closed = outbox.to("lasare@example.org")
    # The update is the first mail this reader has: it starts the thread, refers to nothing.
    assert update["References"] is None and update["In-Reply-To"] is None
    assert closed["In-Reply-To"] == update["Message-ID"]
    assert str(closed["References"]).split()[0] == update["Message-ID"]
