"""cronlite: parse cron expressions and find their next run."""

from cronlite.fields import CronSyntaxError, parse_field
from cronlite.schedule import Schedule

__all__ = ["CronSyntaxError", "Schedule", "parse_field"]
