"""Schedule: a parsed cron expression that matches datetimes and finds the next run."""

from __future__ import annotations

from datetime import datetime, timedelta

from cronlite.fields import CronSyntaxError, FieldSpec, parse_field
from cronlite.names import MONTHS, WEEKDAYS

SPECS = (
    FieldSpec("minute", 0, 59, {}),
    FieldSpec("hour", 0, 23, {}),
    FieldSpec("day of month", 1, 31, {}),
    FieldSpec("month", 1, 12, MONTHS),
    FieldSpec("day of week", 0, 7, WEEKDAYS),
)
_SEARCH_LIMIT = timedelta(days=366 * 5)


class Schedule:
    """A five-field cron expression."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise CronSyntaxError(f"expected 5 fields, got {len(fields)} in {expression!r}")
        self.expression = expression
        sets = [parse_field(text, spec) for text, spec in zip(fields, SPECS, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = sets
        self.weekdays = weekdays
        self._days_restricted = fields[2] != "*"
        self._weekdays_restricted = fields[4] != "*"

    def _day_matches(self, moment: datetime) -> bool:
        in_days = moment.day in self.days
        in_weekdays = (moment.weekday() + 1) % 7 in self.weekdays
        if self._days_restricted and self._weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires at this minute (seconds are ignored)."""
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and self._day_matches(moment)
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after `moment`."""
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + _SEARCH_LIMIT
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = (candidate.replace(day=1, hour=0, minute=0) + timedelta(days=32)
                             ).replace(day=1)
                continue
            if not self._day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
                continue
            if candidate.minute in self.minutes:
                return candidate
            candidate += timedelta(minutes=1)
        raise CronSyntaxError(f"{self.expression!r} never fires")
