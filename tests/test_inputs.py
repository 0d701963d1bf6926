"""Property tests of the one input layer (``commsplan.inputs``) and the CSV escaping."""

from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from commsplan.csvfile import FORMULA_START, write_csv
from commsplan.inputs import (
    DB_INT_MAX,
    EARLIEST_DATE,
    LATEST_DATE,
    InputError,
    date_problem,
    parse_id,
    parse_int,
    text_problem,
)


@given(st.integers())
def test_parse_int_takes_exactly_the_column_range(value):
    try:
        assert parse_int(str(value)) == value
        assert -DB_INT_MAX <= value <= DB_INT_MAX
    except InputError:
        assert not -DB_INT_MAX <= value <= DB_INT_MAX


@given(st.text(max_size=400))
def test_parse_int_never_raises_anything_but_input_error(text):
    try:
        value = parse_int(text)
    except InputError:
        return
    assert isinstance(value, int) and abs(value) <= DB_INT_MAX


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_ids_are_never_fractions(value):
    try:
        parse_id(repr(value))
    except InputError:
        return
    raise AssertionError(f"{value!r} was taken as an id")


@given(st.text())
def test_text_without_control_characters_passes_and_nul_never_does(text):
    problem = text_problem(text)
    if "\x00" in text:
        assert problem
    if all(c in "\t\n\r" or (ord(c) >= 32 and ord(c) != 127) for c in text):
        assert problem is None


@given(st.dates())
def test_dates_outside_the_range_are_refused(day):
    assert (date_problem(day) is None) == (EARLIEST_DATE <= day <= LATEST_DATE)
    assert date_problem(date(9999, 12, 31)) and date_problem(date(1, 1, 1))


@given(st.lists(st.lists(st.text(max_size=30), min_size=3, max_size=3), max_size=8))
def test_csv_cells_never_start_a_formula_and_read_back(rows):
    body = write_csv(["a", "b", "c"], rows)
    for cells in csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"):
        for cell in cells:
            assert not cell.startswith(FORMULA_START)
