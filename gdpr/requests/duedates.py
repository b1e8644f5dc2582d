"""Deadlines under Art. 12(3): one calendar month from receipt."""
from __future__ import annotations

import calendar
import datetime as dt


def add_one_month(day: dt.date) -> dt.date:
    """The same day next month, or that month's last day when it has no such day (31 Jan -> 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
