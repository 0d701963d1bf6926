"""Coverage numbers against a hand-built outbox: who was reached, how, and who was missed."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime

from commsplan.activities import coverage, services
from commsplan.activities.models import ActivityStatus
from commsplan.auth.models import Role
from commsplan.delivery.models import DeliveryState, OutboxItem, OutboxItemGroup, OutgoingMessage
from commsplan.notices.models import NoticeKind, NoticeStatus
from commsplan.timeutil import STOCKHOLM
from tests import factories
from tests.activities.helpers import complete_data, groups
from tests.notices.helpers import make_notice

_ids = itertools.count(1)


def _published(session, title: str, when: datetime):  # type: ignore[no-untyped-def]
    notice = make_notice(session, NoticeKind.general, title=title)
    notice.status = NoticeStatus.published
    notice.published_at = when
    return notice


def _mail(session, notice, deliveries) -> None:  # type: ignore[no-untyped-def]
    """One message about ``notice`` with (contact, state) rows, as the outbox holds them."""
    message = OutgoingMessage(kind="notice", subject=notice.title, source_type="notice", source_id=notice.id)
    session.add(message)
    for contact, state in deliveries:
        item = OutboxItem(
            message=message,
            to_address=contact.email,
            contact_id=contact.id,
            state=state,
            message_id_header=f"<{next(_ids)}@test>",
        )
        session.add(item)
        session.flush()
        # As enqueue does: the groups the contact was reached as.
        session.add_all(OutboxItemGroup(outbox_item_id=item.id, group_id=g.id) for g in contact.groups)
    session.flush()


def _fixture(session):  # type: ignore[no-untyped-def]
    g = groups(session)
    managers = factories.make_stakeholder_group(session, name="Vårdgivare – chefer", position=1)
    media = factories.make_stakeholder_group(session, name="Media", position=9)
    nurses = [factories.make_contact(session, email=f"ssk{i}@example.org") for i in range(3)]
    for nurse in nurses:
        nurse.groups = [g.staff]
    boss = factories.make_contact(session, email="chef@example.org")
    boss.groups = [managers, g.staff]  # in two groups: counts for both
    march = _published(session, "Ny version av 1177", datetime(2027, 3, 3, 10, tzinfo=STOCKHOLM))
    _mail(
        session,
        march,
        [(nurses[0], DeliveryState.sent), (nurses[1], DeliveryState.sent), (nurses[2], DeliveryState.failed)],
    )
    # An update about the same notice reaches the same nurse again and the manager once.
    _mail(session, march, [(nurses[0], DeliveryState.sent), (boss, DeliveryState.sent)])
    april = _published(session, "Utanför perioden", datetime(2027, 4, 2, 10, tzinfo=STOCKHOLM))
    _mail(session, april, [(nurses[0], DeliveryState.sent)])
    # A newsletter item to residents without a notice, done on 15 March.
    contact = factories.make_contact(session)
    newsletter = services.create_activity(
        session,
        complete_data(
            g,
            title="Nyhetsbrev mars",
            responsible_contact_id=contact.id,
            due_at=datetime(2027, 3, 15, 9, tzinfo=STOCKHOLM),
            groups=[services.GroupAnswer(g.residents.id, True, "Nytt i 1177", [g.web.id])],
        ),
        None,
    )
    services.set_status(session, newsletter, ActivityStatus.planned)
    services.set_status(session, newsletter, ActivityStatus.done)
    session.commit()
    return g, managers, media, march, newsletter


MARCH = (datetime(2027, 3, 1, tzinfo=STOCKHOLM), datetime(2027, 4, 1, tzinfo=STOCKHOLM))


def test_matrix_counts_people_from_the_outbox_and_highlights_missed_groups(session):
    g, managers, media, march, newsletter = _fixture(session)
    report = coverage.coverage(session, *MARCH)
    assert [(c.source, c.title) for c in report.columns] == [
        ("notice", "Ny version av 1177"),
        ("activity", "Nyhetsbrev mars"),
    ]
    assert report.columns[0].people == 3  # two nurses and the manager; the failed one is not reached
    cells = {row.group.name: row.cells for row in report.rows}
    assert cells["Vårdgivare – medarbetare"][0].people == 3 and cells["Vårdgivare – medarbetare"][
        0
    ].channels == ["E-post"]
    assert cells["Vårdgivare – chefer"][0].people == 1
    assert cells["Invånare/Patienter"][0].people == 0
    assert cells["Invånare/Patienter"][1].channels == ["1177.se"]
    assert [group.name for group in report.missed] == ["Media"]


def test_coverage_page_and_csv(client, auth, session):
    _fixture(session)
    auth.login(Role.viewer)
    page = client.get("/activities/coverage?from=2027-03-01&to=2027-03-31").get_data(as_text=True)
    assert "Ingen kommunikation under perioden till:" in page and "Media" in page
    assert "Utanför perioden" not in page and "3 personer" in page
    body = client.get("/activities/coverage.csv?from=2027-03-01&to=2027-03-31").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == [
        "Intressentgrupp",
        "2027-03-03 Ny version av 1177",
        "2027-03-15 Nyhetsbrev mars",
        "Personer",
    ]
    by_group = {row[0]: row for row in rows[1:]}
    assert by_group["Vårdgivare – medarbetare"] == ["Vårdgivare – medarbetare", "3 E-post", "–", "3"]
    assert by_group["Invånare/Patienter"][2] == "1177.se"
    assert by_group["Media"][1:] == ["–", "–", "0"]
    assert client.get("/activities/coverage?from=2027-03-31&to=2027-03-01").status_code == 400
    assert client.get("/activities/coverage?from=igår").status_code == 400
