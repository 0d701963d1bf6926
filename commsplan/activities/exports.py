"""CSV for the calendar and the coverage report: one path every value goes through."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response


def csv_cell(value: object) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ or control character would make
    Excel or LibreOffice run it as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def csv_response(header: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    # A BOM so Excel opens the Swedish characters correctly.
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
