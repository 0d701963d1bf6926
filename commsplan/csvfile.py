"""CSV in and out, the way Swedish Excel reads and writes it.

Every CSV the app produces goes through ``write_csv``: cells that a spreadsheet would
run as a formula (starting with = + - @, tab or carriage return) are neutralised with a
leading apostrophe, and the file gets a UTF-8 byte order mark and ``;`` separators so
Excel opens it with å, ä and ö intact. ``read_csv`` takes what Excel saves: UTF-8 with
or without BOM (or Windows-1252, Excel's "CSV (semikolonavgränsad)"), ``;`` or ``,``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def _looks_neutralised(text: str) -> bool:
    # Apostrophes, then a formula character: what neutralise writes, and so also what it
    # must escape when a value already starts that way ("'=1" is written "''=1").
    return text.lstrip("'").startswith(FORMULA_START)


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if _looks_neutralised(text) else text


def unneutralise(text: str) -> str:
    """Undo ``neutralise`` on a cell read back, so an export imports unchanged."""
    return text[1:] if text.startswith("'") and _looks_neutralised(text) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The file line by line (BOM first), for streaming large exports."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    yield BOM
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    return "".join(csv_lines(header, rows))


@dataclass(frozen=True)
class CsvRow:
    line: int  # the line of the file the row starts on (1 is the header)
    cells: list[str]


class CsvError(ValueError):
    """The file cannot be read as CSV at all; the message is for the user."""


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(data: bytes) -> tuple[list[str], list[CsvRow]]:
    """The header and the non-empty rows, each with the line it starts on."""
    text = _decode(data)
    # The header decides the separator; a file saved with CR line ends (old Mac Excel)
    # has no \n at all, and counting over the whole file guessed from the cells.
    first_line = re.split(r"\r\n?|\n", text, maxsplit=1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvError(_("Filen är tom."))
        rows: list[CsvRow] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(CsvRow(start, [unneutralise(cell.strip()) for cell in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvError(
            _("Filen kunde inte läsas som CSV (rad %(line)s): %(error)s", line=reader.line_num, error=exc)
        ) from exc
    return [cell.strip().lower() for cell in header], rows
