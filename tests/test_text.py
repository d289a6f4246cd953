"""``text.time_left``: the time left of a token in whole units a person would say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from durin.text import time_left

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (timedelta(0), "0 seconds"),
        (timedelta(seconds=-30), "0 seconds"),  # expired
        (-400 * DAY, "0 seconds"),
        (timedelta(seconds=0.49), "0 seconds"),
        (timedelta(seconds=0.5), "1 second"),
        (timedelta(seconds=1), "1 second"),
        (timedelta(seconds=59), "59 seconds"),
        (timedelta(seconds=59.5), "1 minute"),  # rounds to 60 seconds: a minute
        (timedelta(seconds=60), "1 minute"),
        (timedelta(seconds=89), "1 minute, 29 seconds"),  # one of a unit: the rest too
        (timedelta(seconds=119), "1 minute, 59 seconds"),
        (timedelta(seconds=120), "2 minutes"),  # two or more: rounded to the nearest
        (timedelta(seconds=149), "2 minutes"),
        (timedelta(seconds=150), "3 minutes"),  # halves up
        (timedelta(minutes=59, seconds=59.9), "1 hour"),  # a 1-hour token just issued
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=23, minutes=59, seconds=40), "1 day"),
        (timedelta(hours=36), "1 day, 12 hours"),
        (timedelta(hours=47, minutes=30), "2 days"),
        (timedelta(days=14), "14 days"),
        (timedelta(days=29, hours=12), "1 month"),
        (timedelta(days=30), "1 month"),
        (timedelta(days=45), "1 month, 15 days"),
        (timedelta(days=340), "11 months"),
        (timedelta(days=364.9), "1 year"),  # 12 months once rounded to the nearest month
        (365 * DAY - timedelta(microseconds=1), "1 year"),  # a 365-day key just issued
        (timedelta(days=365), "1 year"),
        (timedelta(days=375), "1 year"),  # a year is 365 days, not 12 months of 30
        (timedelta(days=511), "1 year, 5 months"),
        (timedelta(days=729), "2 years"),
        (timedelta(days=36500), "100 years"),  # MAX_TOKEN_TTL
        (timedelta(days=36500) - timedelta(seconds=1), "100 years"),
        (timedelta.max, f"{timedelta.max.days // 365} years"),
    ],
)
def test_time_left(left, said):
    assert time_left(left) == said


def test_every_second_of_a_day_says_one_or_two_whole_units():
    """No "23 hours, 59 minutes": at most two units, and a second unit only after a 1."""
    for seconds in range(0, 2 * 86400, 7):
        words = time_left(timedelta(seconds=seconds)).split(", ")
        assert len(words) <= 2, seconds
        if len(words) == 2:
            assert words[0].startswith("1 "), (seconds, words)
        count = int(words[0].split()[0])
        assert count >= 1 or seconds == 0


def test_time_left_is_translated():
    with translation.override("fr"):
        # Django's French says "2 ans" since 5.0, "2 années" before.
        assert time_left(timedelta(days=730)) in {"2 ans", "2 années"}
        assert time_left(timedelta(hours=36)) == "1 jour, 12 heures"
