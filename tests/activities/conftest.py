from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The activity tests run with the publish gate on, as an installation does."""
    return {**app_config, "ACTIVITY_GATE": True}
