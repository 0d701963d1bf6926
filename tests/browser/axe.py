"""axe-core (from tests/js/node_modules, installed by ``make test`` with ``npm ci``) run in
the page: the WCAG 2.1 A and AA rules only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Any) -> list[str]:
    """One line per violated rule and element, empty when the page passes."""
    if not AXE_JS.exists():
        pytest.skip("axe-core is not installed: run `npm ci --prefix tests/js` (make test does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} – {node['failureSummary'].splitlines()[-1]}"
        for rule in result["violations"]
        for node in rule["nodes"]
    ]
