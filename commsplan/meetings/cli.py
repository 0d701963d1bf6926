"""Meeting commands on the ``flask commsplan`` group."""

from __future__ import annotations
