"""Prometheus metrics.

Mail figures are read from the database at scrape time (a custom collector), so they are
the same whichever web process answers and however many workers send. Request latency
is measured in each process; under gunicorn ``PROMETHEUS_MULTIPROC_DIR`` (set by
deploy/gunicorn.conf.py) makes prometheus_client share it between the worker processes.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from commsplan.delivery.models import DeliveryState, OutboxItem
from commsplan.digests.models import DigestRun
from commsplan.ops.health import oldest_due_at
from commsplan.relay.models import RelaySource, SourceKind

LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# At most this many recent sent rows feed the latency histogram (bounded scrape cost).
LATENCY_SAMPLE = 20_000

# ``_created`` series double the output and no dashboard of ours reads them.
disable_created_metrics()

# Created once per process, as prometheus_client requires: a second registration of the
# same name fails. In multiprocess mode its values live in files shared by all workers.
REQUEST_LATENCY = Histogram(
    "commsplan_http_request_duration_seconds",
    "Time to answer a request, by route (endpoint) and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)


def observe_request(route: str | None, method: str, seconds: float) -> None:
    REQUEST_LATENCY.labels(route or "unknown", method).observe(seconds)


class DatabaseCollector(Collector):
    """Outbox, digest and relay figures, read from the database on every scrape."""

    def __init__(self, session: Session, now: datetime, latency_window: float) -> None:
        self.session = session
        self.now = now
        self.latency_window = latency_window

    def collect(self) -> Iterator[Metric]:
        try:
            # Read everything before yielding: a failing query yields only "database down".
            families = [*self._outbox(), self._latency(), self._digests(), *self._relay_sources()]
        except SQLAlchemyError:
            self.session.rollback()
            families = []
        yield GaugeMetricFamily(
            "commsplan_database_up",
            "1 if the database answered this scrape's queries.",
            value=1 if families else 0,
        )
        yield from families

    def _outbox(self) -> Iterable[Metric]:
        counts = dict.fromkeys(DeliveryState, 0)
        for state, count in self.session.execute(
            select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
        ):
            counts[state] = count
        depth = GaugeMetricFamily(
            "commsplan_outbox_items", "Outbox items (one per recipient) by delivery state.", labels=["state"]
        )
        for state, count in counts.items():
            depth.add_metric([state.value], count)
        yield depth
        yield CounterMetricFamily(
            "commsplan_mails_sent",
            "Mails the relay accepted (outbox rows kept).",
            value=counts[DeliveryState.sent],
        )
        yield CounterMetricFamily(
            "commsplan_mails_failed",
            "Mails given up on after a permanent refusal or too many attempts.",
            value=counts[DeliveryState.failed],
        )
        oldest = oldest_due_at(self.session, self.now)
        age = max(0.0, (self.now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "commsplan_outbox_oldest_due_age_seconds",
            "How long the mail that has waited longest since it became due has waited (0: none).",
            value=age,
        )

    def _latency(self) -> Metric:
        since = self.now - timedelta(seconds=self.latency_window)
        rows = self.session.execute(
            select(OutboxItem.created_at, OutboxItem.sent_at)
            .where(OutboxItem.state == DeliveryState.sent, OutboxItem.sent_at >= since)
            .order_by(OutboxItem.sent_at.desc())
            .limit(LATENCY_SAMPLE)
        )
        seconds = [max(0.0, (sent - queued).total_seconds()) for queued, sent in rows if sent and queued]
        buckets = [(str(bound), sum(1 for s in seconds if s <= bound)) for bound in LATENCY_BUCKETS]
        buckets.append(("+Inf", len(seconds)))
        metric = HistogramMetricFamily(
            "commsplan_delivery_latency_seconds",
            f"Queued to sent, for mail sent in the last {int(self.latency_window)} seconds.",
        )
        metric.add_metric([], buckets, sum(seconds))
        return metric

    def _digests(self) -> Metric:
        metric = CounterMetricFamily(
            "commsplan_digest_runs", "Digests prepared, by period.", labels=["period"]
        )
        for period, count in self.session.execute(
            select(DigestRun.period, func.count()).group_by(DigestRun.period)
        ):
            metric.add_metric([period], count)
        return metric

    def _relay_sources(self) -> Iterable[Metric]:
        """Errors in a row of each relay source: 0 when its last poll worked."""
        metric = GaugeMetricFamily(
            "commsplan_relay_source_errors",
            "Errors in a row of each relay source (0: its last poll worked).",
            labels=["source"],
        )
        rows = self.session.execute(
            select(RelaySource.name, RelaySource.failures).where(RelaySource.kind != SourceKind.paste)
        ).all()
        if not rows:
            return
        for source, errors in rows:
            metric.add_metric([source], float(errors or 0))
        yield metric


def exposition(session: Session, now: datetime, latency_window: float) -> bytes:
    """The text a Prometheus server scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_RequestLatency())
    registry.register(DatabaseCollector(session, now, latency_window))
    return generate_latest(registry)


class _RequestLatency(Collector):
    """This process's request histogram (no multiprocess directory: one process)."""

    def collect(self) -> Iterator[Metric]:
        yield from REQUEST_LATENCY.collect()


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: object) -> list[Network]:
    """``"10.0.0.0/8, ::1"`` or a JSON list, as COMMSPLAN_METRICS_NETWORKS may hold."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip()]


def address_allowed(
    address: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
