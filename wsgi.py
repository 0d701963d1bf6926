"""WSGI entry point: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` or ``flask --app wsgi run``."""

import sys

from commsplan import create_app
from commsplan.config import ConfigurationError

try:
    app = create_app()
except ConfigurationError as error:
    # A clear line and a non-zero exit, not a traceback: systemd shows it as the reason.
    print(f"commsplan: {error}", file=sys.stderr)
    raise SystemExit(2) from None
