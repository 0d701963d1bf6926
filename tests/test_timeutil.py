"""Swedish working days: one definition for meetings, reminders, digests and activities."""

from __future__ import annotations

from datetime import date

from commsplan.timeutil import holiday_name, is_working_day, next_working_day, working_days_before


def test_public_and_de_facto_holidays_are_days_off():
    assert holiday_name(date(2026, 6, 19)) == "Midsommarafton"
    for day in (
        date(2026, 6, 19),
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2026, 4, 6),
        date(2026, 5, 1),
    ):
        assert not is_working_day(day), day
    assert not is_working_day(date(2026, 6, 20))  # a Saturday, and Midsommardagen
    assert is_working_day(date(2026, 6, 18)) and holiday_name(date(2026, 6, 18)) == ""


def test_counting_working_days_skips_weekends_and_holidays():
    # Monday 22 June 2026: Friday 19th is Midsummer Eve, so one working day back is Thursday.
    assert working_days_before(date(2026, 6, 22), 1) == date(2026, 6, 18)
    assert working_days_before(date(2026, 6, 22), 2) == date(2026, 6, 17)
    assert working_days_before(date(2026, 6, 22), 0) == date(2026, 6, 22)
    # After Christmas Eve (Thursday) come Christmas Day and the weekend.
    assert next_working_day(date(2026, 12, 23)) == date(2026, 12, 28)
