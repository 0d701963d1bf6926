"""Delivery status pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("delivery", __name__, url_prefix="/delivery")
