"""Text from clients, made safe to compare with or store in any supported database; and
durations told to people."""

from __future__ import annotations

from datetime import timedelta

from django.utils.timesince import TIME_STRINGS
from django.utils.translation import gettext, ngettext_lazy

SECONDS = ngettext_lazy("%(num)d second", "%(num)d seconds", "num")

#: (name, length in seconds, the next smaller unit's length, how many of it make one):
#: a year is 365 days but is reached at 12 months of 30 days.
_UNITS = [
    ("year", 365 * 86400, 30 * 86400, 12),
    ("month", 30 * 86400, 86400, 30),
    ("day", 86400, 3600, 24),
    ("hour", 3600, 60, 60),
    ("minute", 60, 1, 60),
]
_SMALLER = {"year": "month", "month": "day", "day": "hour", "hour": "minute", "minute": "second"}


def _nearest(value: float) -> int:
    """Rounded to the nearest whole, halves up (``round`` rounds halves to even)."""
    return int(value + 0.5)


def _say(unit: str, num: int) -> str:
    strings = SECONDS if unit == "second" else TIME_STRINGS[unit]
    return strings % {"num": num}


def time_left(delta: timedelta) -> str:
    """``delta`` in whole units a person would say: "1 year", "3 days", "1 day, 12 hours".

    The unit is the largest one (year, month, day, hour, minute, second) that ``delta``
    reaches once rounded to the nearest whole of the next smaller unit: 364.9 days are
    12 months, so "1 year"; 59.6 seconds are "1 minute". Two or more of that unit are
    rounded to the nearest whole ("2 years", "3 minutes" for 2 minutes 30 seconds); just
    one of it adds the rest in the next smaller unit, when there is any ("1 month,
    15 days"). No time left, or less than half a second, is "0 seconds". Months are of 30
    days, years of 365 (so 375 days are "1 year", not "1 year, 1 month").
    """
    seconds = _nearest(max(delta.total_seconds(), 0.0))
    for unit, length, smaller, per_unit in _UNITS:
        in_smaller = _nearest(seconds / smaller)
        if in_smaller < per_unit:
            continue
        if in_smaller >= 2 * per_unit:
            return _say(unit, _nearest(seconds / length))
        rest = max(_nearest((seconds - length) / smaller), 0)  # a year is not 12 months
        if rest == 0:
            return _say(unit, 1)
        return gettext(", ").join([_say(unit, 1), _say(_SMALLER[unit], rest)])
    return _say("second", seconds)


def storable(text: str) -> bool:
    """Whether every database can hold ``text``: no NUL (PostgreSQL), no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` without control characters or lone surrogates (for a user agent shown later)."""
    return "".join(c for c in text if c.isprintable())  # surrogates are not printable
