"""Activity pages: the checklist form, status buttons, copying and the template editor."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import func, select

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityStatus
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.meetings import services as services_of_meetings
from commsplan.meetings.services import SeriesData
from commsplan.notices.models import NoticeKind
from tests import factories
from tests.activities.helpers import groups
from tests.notices.helpers import make_notice
from tests.test_query_counts import counting_queries


def test_coordinator_fills_in_the_checklist_in_the_form(client, auth, session):
    g = groups(session)
    notice = make_notice(session, NoticeKind.service_window)
    contact = factories.make_contact(session, name="Ansvarig")
    session.commit()
    auth.login(Role.coordinator)
    page = client.get(f"/activities/new?notice={notice.id}").get_data(as_text=True)
    assert "Har aktiviteten ett informationsvärde för våra intressenter?" in page
    assert "Kärnbudskap till Invånare/Patienter" in page
    response = client.post(
        "/activities/new",
        data={
            "title": "Servicefönster Journalen",
            "kind": "service_window",
            "notices": [str(notice.id)],
            "occurrence": "0",
            "information_value": "yes",
            "information_value_why": "Journalen är stängd",
            "purpose": "Att invånare vet",
            "workdays_before": "2",
            "responsible": f"c{contact.id}",
            f"g{g.staff.id}_affected": "indirect",
            f"g{g.staff.id}_message": "Hänvisa patienter till 1177 på telefon.",
            f"g{g.staff.id}_channels": [str(g.intranet.id)],
            f"g{g.residents.id}_affected": "direct",
            f"g{g.residents.id}_message": "Journalen är stängd i natt.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = session.scalars(select(Activity)).one()
    assert [n.id for n in activity.notices] == [notice.id]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "kanal saknas för Invånare/Patienter" in detail
    planned = client.post(f"/activities/{activity.id}/status/planned", data={})
    assert planned.status_code == 400
    assert "kanal saknas för Invånare/Patienter" in planned.get_data(as_text=True)
    session.expire_all()
    assert activity.status is ActivityStatus.idea
    # The second time the channel for the residents is suggested from what reached them.
    assert "Brukar nå gruppen: Intranätet" in client.get("/activities/new").get_data(as_text=True)


def test_bad_input_is_shown_again_and_nothing_is_stored(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post("/activities/new", data={"title": "", "kind": "release", "occurrence": "0"})
    assert response.status_code == 400
    response = client.post(
        "/activities/new",
        data={"title": "A", "kind": "nonsense", "occurrence": "0", "workdays_before": "-3"},
    )
    assert response.status_code == 400
    assert "Formuläret innehåller fel" in response.get_data(as_text=True)
    assert client.get("/activities/?status=nonsense").status_code == 400
    assert client.post("/activities/1/status/dropped", data={}).status_code == 404
    assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_drop_needs_a_reason_and_copy_opens_the_copy(client, auth, session):
    activity = services.create_activity(session, services.ActivityData(title="Nyhetsbrev mars"), None)
    session.commit()
    auth.login(Role.coordinator)
    assert client.post(f"/activities/{activity.id}/status/dropped", data={"reason": ""}).status_code == 400
    assert (
        client.post(f"/activities/{activity.id}/status/dropped", data={"reason": "Inställt"}).status_code
        == 302
    )
    session.expire_all()
    assert activity.status is ActivityStatus.dropped and activity.drop_reason == "Inställt"
    response = client.post(f"/activities/{activity.id}/copy", data={})
    assert response.status_code == 302 and "/edit" in response.headers["Location"]
    assert session.scalar(select(func.count()).select_from(Activity)) == 2


def test_admin_edits_questions_viewer_cannot(client, auth, session):
    services.ensure_default_templates(session)
    session.commit()
    template = services.default_template(session)
    question = template.questions[0]
    auth.login(Role.coordinator)
    assert client.post(f"/activities/questions/{question.id}/edit", data={"text": "Ny"}).status_code == 403
    auth.logout()
    auth.login(Role.admin)
    assert client.post(f"/activities/questions/{question.id}/edit", data={"text": ""}).status_code == 400
    assert (
        client.post(f"/activities/questions/{question.id}/edit", data={"text": "Har det värde?"}).status_code
        == 302
    )
    assert client.post(f"/activities/questions/{question.id}/down", data={}).status_code == 302
    assert client.post(f"/activities/questions/{question.id}/retire", data={}).status_code == 302
    response = client.post(
        f"/activities/templates/{template.id}/questions/new",
        data={"text": "Behövs bild?", "answer_kind": "text"},
    )
    assert response.status_code == 302
    session.expire_all()
    page = client.get("/activities/templates").get_data(as_text=True)
    assert "Har det värde?" in page and "inte längre i bruk" in page and "Behövs bild?" in page
    assert question.version == 2 and question.position == 2 and question.retired_at is not None


def _queries_for(app, client, url: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    from commsplan.extensions import db

    seen = []

    def count(*_args: object) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_activity_list_pages_and_costs_the_same_for_5_or_60_rows(app, client, auth, session):
    g = groups(session)
    auth.login(Role.viewer)

    def add(n: int) -> None:
        for i in range(n):
            services.create_activity(
                session,
                services.ActivityData(
                    title=f"Aktivitet {i}",
                    groups=[services.GroupAnswer(g.staff.id, True, "Text", [g.intranet.id])],
                ),
                None,
            )
        session.commit()

    add(5)
    few = _queries_for(app, client, "/activities/")
    add(55)
    many = _queries_for(app, client, "/activities/")
    assert many == few
    first = client.get("/activities/?status=idea").get_data(as_text=True)
    assert 'rel="next"' in first and "page=2" in first and "status=idea" in first
    second = client.get("/activities/?page=2").get_data(as_text=True)
    assert second.count("/activities/") > 0 and 'rel="prev"' in second
    assert client.get("/activities/?page=-1").status_code == 400


def _coming_series(session, title: str) -> None:
    services_of_meetings.create_series(
        session,
        SeriesData(
            title=title,
            start_time=time(13, 0),
            starts_on=date.today() + timedelta(days=1),
            duration_minutes=60,
            rrule="FREQ=MONTHLY;COUNT=3",
            organiser_email="1177etjanster@example.org",
        ),
    )


def test_the_form_offers_every_coming_meeting_with_the_same_queries_however_many_series(
    app, client, auth, session
):
    auth.login(Role.coordinator)

    def form_queries() -> tuple[int, str]:
        db.session.remove()
        with counting_queries(app) as (statements, _loaded):
            response = client.get("/activities/new")
        assert response.status_code == 200
        return len(statements), response.get_data(as_text=True)

    services.ensure_default_templates(session)
    _coming_series(session, "Nätverk 1")
    session.commit()
    few, _page = form_queries()
    for number in range(2, 8):
        _coming_series(session, f"Nätverk {number}")
    session.commit()
    many, page = form_queries()
    assert many == few
    assert all(f"Nätverk {number} " in page for number in range(1, 8))
