"""What the app trusts of the reverse proxy in front of it, and HSTS behind TLS."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from commsplan.config import is_production


def init_app(app: Flask) -> None:
    hops = int(app.config["PROXY_HOPS"])  # checked in ops.check_settings
    if hops:
        # Each trusted proxy appends one X-Forwarded-* value; only the last ``hops`` are
        # believed, so a client cannot pass itself off as another address or as TLS.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    if not is_production(app):
        return
    max_age = int(app.config["HSTS_MAX_AGE"])

    @app.after_request
    def strict_transport_security(response: Response) -> Response:
        # Only over TLS (as ProxyFix reports it): browsers ignore the header over plain
        # HTTP, and sending it there would hide a proxy that forgets X-Forwarded-Proto.
        if request.is_secure and max_age > 0:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
        return response
