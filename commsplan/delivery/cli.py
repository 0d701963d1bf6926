"""``flask commsplan worker`` and ``flask commsplan deliver``."""

from __future__ import annotations
