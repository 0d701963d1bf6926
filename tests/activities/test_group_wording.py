"""Per-group core messages as the recipients receive them, and coverage by the group a
person was reached as (issue 14, point 2)."""

from __future__ import annotations

from datetime import timedelta

from commsplan.activities import coverage
from commsplan.notices import services
from commsplan.notices.models import NoticeKind
from commsplan.timeutil import utcnow
from tests import factories
from tests.activities.helpers import complete_activity, groups
from tests.notices.helpers import make_notice

STAFF_WORDING = "Ny knapp för ombokning i vyn."
RESIDENT_WORDING = "Du kan nu boka om själv."


def _deliver(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["commsplan", "deliver"])
    assert result.exit_code == 0, result.output


def _bodies(mail) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def _published_with_wording(session):  # type: ignore[no-untyped-def]
    g = groups(session)
    nurse = factories.make_contact(session, name="Sjuksköterska", email="ssk@example.org")
    nurse.groups = [g.staff]
    patient = factories.make_contact(session, name="Patientråd", email="patient@example.org")
    patient.groups = [g.residents]
    english_nurse = factories.make_contact(session, name="Nurse", email="nurse@example.org", language="en")
    english_nurse.groups = [g.staff]
    notice = make_notice(
        session, NoticeKind.general, title="Ombokning i Webbtidbok", group_ids=[g.staff.id, g.residents.id]
    )
    services.add_recipient(session, notice, "extern@example.org")
    complete_activity(session, notice, g)
    services.publish(session, notice, None)
    session.commit()
    return g, notice, nurse, patient


def test_each_contact_receives_the_core_message_of_its_group(session, runner, outbox, client):
    _g, notice, _nurse, _patient = _published_with_wording(session)
    _deliver(runner)

    nurse_text, nurse_html = _bodies(outbox.to("ssk@example.org")[0])
    assert STAFF_WORDING in nurse_text and STAFF_WORDING in nurse_html
    assert RESIDENT_WORDING not in nurse_text and RESIDENT_WORDING not in nurse_html
    assert "Det viktigaste för dig" in nurse_text

    patient_text, patient_html = _bodies(outbox.to("patient@example.org")[0])
    assert RESIDENT_WORDING in patient_text and RESIDENT_WORDING in patient_html
    assert STAFF_WORDING not in patient_text

    # Someone outside every group gets the notice as written, without a group's wording.
    other_text, _ = _bodies(outbox.to("extern@example.org")[0])
    assert STAFF_WORDING not in other_text and RESIDENT_WORDING not in other_text
    assert "Det viktigaste för dig" not in other_text

    # The staff wording in English mail is the coordinator's text, around English labels.
    english_text, _ = _bodies(outbox.to("nurse@example.org")[0])
    assert STAFF_WORDING in english_text and "What matters most for you" in english_text

    # The public status page shows the resident wording, never the staff one.
    page = client.get(f"/status/{notice.uid}").get_data(as_text=True)
    assert RESIDENT_WORDING in page and STAFF_WORDING not in page


def test_an_update_reaches_each_group_with_its_wording_in_one_thread(session, runner, outbox):
    _g, notice, _nurse, _patient = _published_with_wording(session)
    services.post_update(session, notice, None, "Gäller från måndag.")
    session.commit()
    _deliver(runner)
    first, update = outbox.to("ssk@example.org")
    assert STAFF_WORDING in _bodies(update)[0]
    assert update["In-Reply-To"] == first["Message-ID"]


def test_coverage_counts_the_group_a_contact_was_reached_as(session, runner, outbox):
    g, notice, nurse, patient = _published_with_wording(session)
    _deliver(runner)
    # After the mail went out the nurse moves to the residents' group.
    nurse.groups = [g.residents]
    session.commit()

    start = utcnow() - timedelta(days=1)
    report = coverage.coverage(session, start, utcnow() + timedelta(days=1))
    [column] = [i for i, c in enumerate(report.columns) if c.id == notice.id]
    cells = {row.group.name: row.cells[column] for row in report.rows}
    assert cells[g.staff.name].people == 2  # the nurse and the English nurse, as staff
    assert cells[g.residents.name].people == 1  # the patient only
