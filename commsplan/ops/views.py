"""/healthz, /readyz and /metrics: for load balancers, orchestration and Prometheus."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Response, abort, current_app, g, request
from flask_babel import gettext as _
from prometheus_client import CONTENT_TYPE_LATEST

from commsplan.auth.guard import bearer_token, public
from commsplan.extensions import db
from commsplan.ops import health, metrics
from commsplan.timeutil import utcnow

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@public
def healthz():
    """The process is up and answers; says nothing about the database (see /readyz)."""
    return {"status": "ok"}


@bp.get("/readyz")
@public
def readyz():
    result = health.readiness(
        db.session,
        current_app.extensions["migrate"].directory,
        utcnow(),
        float(current_app.config["READY_MAX_QUEUE_AGE"]),
    )
    return result.as_json(), 200 if result.ready else 503


def _may_scrape() -> bool:
    token = str(current_app.config["METRICS_TOKEN"] or "")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    networks = metrics.parse_networks(current_app.config["METRICS_NETWORKS"])
    return metrics.address_allowed(request.remote_addr, networks)


@bp.get("/metrics")
@public
@bearer_token
def prometheus_metrics():
    """Guarded here, not by log-in: Prometheus scrapes with a bearer token or from an
    allowed network (COMMSPLAN_METRICS_TOKEN, COMMSPLAN_METRICS_NETWORKS)."""
    if not _may_scrape():
        if current_app.config["METRICS_TOKEN"]:
            response = Response(_("Du behöver logga in.") + "\n", status=401, mimetype="text/plain")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        abort(403)
    body = metrics.exposition(db.session, utcnow(), float(current_app.config["METRICS_LATENCY_WINDOW"]))
    return Response(body, content_type=CONTENT_TYPE_LATEST)


@bp.after_app_request
def record_latency(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None and request.endpoint != "static":
        metrics.observe_request(request.endpoint, request.method, time.perf_counter() - started)
    return response
