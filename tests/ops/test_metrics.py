"""/metrics: Prometheus text read back with prometheus_client's own parser; only a
scraper with the token or from an allowed network gets it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from commsplan.delivery.services import drain
from commsplan.digests.models import DigestRun
from commsplan.relay.models import RelaySource, SourceKind
from commsplan.timeutil import utcnow
from tests.factories import make_contact
from tests.ops.helpers import queue_mail


def scrape(client, **kwargs):  # type: ignore[no-untyped-def]
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}


def sample(families, family, name=None, **labels):  # type: ignore[no-untyped-def]
    for s in families[family].samples:
        if s.name == (name or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {name or family} {labels}")


def test_outbox_depth_sent_failed_and_oldest_age(app, client, session, outbox):
    queue_mail(session, "one@example.org", "two@example.org", "not-an-address")
    drain(app)
    queue_mail(session, "waiting@example.org", created_at=utcnow() - timedelta(minutes=10))

    families = scrape(client)
    assert sample(families, "commsplan_outbox_items", state="sent") == 2
    assert sample(families, "commsplan_outbox_items", state="queued") == 1
    assert sample(families, "commsplan_outbox_items", state="failed") == 1
    assert sample(families, "commsplan_mails_sent", "commsplan_mails_sent_total") == 2
    assert sample(families, "commsplan_mails_failed", "commsplan_mails_failed_total") == 1
    assert 590 <= sample(families, "commsplan_outbox_oldest_due_age_seconds") <= 1200
    latency = families["commsplan_delivery_latency_seconds"]
    assert latency.type == "histogram"
    assert (
        sample(families, "commsplan_delivery_latency_seconds", "commsplan_delivery_latency_seconds_count")
        == 2
    )


def test_request_latency_by_route(client):
    client.get("/status")
    client.get("/healthz")
    families = scrape(client)
    name = "commsplan_http_request_duration_seconds"
    assert families[name].type == "histogram"
    assert sample(families, name, name + "_count", route="ops.healthz", method="GET") >= 1
    assert sample(families, name, name + "_count", route="status.status_page", method="GET") >= 1


def test_digest_runs_are_counted(client, session):
    contact = make_contact(session)
    now = utcnow()
    for key in ("2026-W01", "2026-W02"):
        session.add(
            DigestRun(
                contact_id=contact.id, period="weekly", period_key=key, covered_from=now, covered_until=now
            )
        )
    session.commit()
    families = scrape(client)
    assert sample(families, "commsplan_digest_runs", "commsplan_digest_runs_total", period="weekly") == 2


def test_relay_source_errors_per_source(client, session):
    session.add_all(
        [
            RelaySource(name="inera", kind=SourceKind.feed, settings={"url": "https://x.test/a"}, failures=3),
            RelaySource(name="ok", kind=SourceKind.feed, settings={"url": "https://x.test/b"}, failures=0),
        ]
    )
    session.commit()
    families = scrape(client)
    assert sample(families, "commsplan_relay_source_errors", source="inera") == 3
    assert sample(families, "commsplan_relay_source_errors", source="ok") == 0


def test_without_relay_sources_there_is_no_such_metric(client):
    assert "commsplan_relay_source_errors" not in scrape(client)


@pytest.mark.parametrize("address", ["10.0.0.7", "192.168.1.20", "2001:db8::1"])
def test_other_networks_are_refused_by_default(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 403
    assert b"commsplan_outbox" not in response.data


def test_loopback_may_scrape_by_default(client):
    scrape(client, environ_base={"REMOTE_ADDR": "::1"})


def test_allowed_network_list(app, client):
    app.config["METRICS_NETWORKS"] = "10.20.0.0/16, 127.0.0.1"
    scrape(client, environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.21.0.1"}).status_code == 403


def test_bearer_token(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    app.config["METRICS_NETWORKS"] = ""
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    refused = client.get("/metrics", environ_base=outside)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    # Even loopback needs the token once no network is allowed.
    assert client.get("/metrics").status_code == 401
    scrape(client, environ_base=outside, headers={"Authorization": "Bearer s3cret-scrape-token"})


def test_a_database_without_the_outbox_says_database_down(app_config):
    from commsplan import create_app

    broken = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = broken.test_client().get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert sample(families, "commsplan_database_up") == 0
