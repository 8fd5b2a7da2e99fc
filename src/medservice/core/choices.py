from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    TRANSITION = "transition", _("State changed")
    SIGN = "sign", _("Signed")
    UNMASK = "unmask", _("Personal data shown")
    LOGIN = "login", _("Logged in")
    OTHER = "other", _("Other")


class SignerKind(models.TextChoices):
    INTERNAL = "internal", _("Staff member (password re-entered)")
    CUSTOMER = "customer", _("Customer")


class CalendarSource(models.TextChoices):
    """Where a business calendar's public holidays and make-up working days come from."""

    CHINESE_CALENDAR = "chinesecalendar", _("China: State Council schedule (chinesecalendar)")
    HOLIDAYS = "holidays", _("Public holidays of a country (holidays library)")
    NONE = "none", _("None: only the days entered here")


class CalendarDayKind(models.TextChoices):
    """How one date departs from the calendar's weekly pattern (values of clock.DayKind)."""

    HOLIDAY = "holiday", _("Holiday (no work)")
    WORKDAY = "workday", _("Make-up working day (调休上班)")
    NORMAL = "normal", _("Ordinary day (weekly pattern applies)")


class CalendarDaySource(models.TextChoices):
    SEEDED = "seeded", _("From the source")
    MANUAL = "manual", _("Entered by hand")


class CalendarYearStatus(models.TextChoices):
    """Whether a year's holidays are known, or due times in it use the fallback rules."""

    CONFIRMED = "confirmed", _("Confirmed by the source")
    MANUAL = "manual", _("Entered and confirmed by an administrator")
    FALLBACK = "fallback", _("Not published yet: fallback rules")
