from typing import Any

from django import template
from django.utils.translation import gettext as _

from medservice.core.crypto import ANONYMISED, PERSONAL_PREFIX

register = template.Library()


@register.filter
def label_for(name: str, labels: dict[str, str] | None) -> str:
    return (labels or {}).get(name, name)


@register.filter
def audit_display(value: Any) -> Any:
    """Personal values in the trail are sealed; the history shows that they changed, not what."""
    if isinstance(value, str) and (value.startswith(PERSONAL_PREFIX) or value == ANONYMISED):
        return _("[personal data]")
    if value in (None, ""):
        return "—"
    return value


@register.filter
def duration_display(value: Any) -> str:
    """A remaining time as people say it: "2 d 4 h", "3 h 20 min", "12 min"."""
    import datetime

    from django.utils.translation import gettext

    if not isinstance(value, datetime.timedelta):
        return ""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)s min") % {"minutes": minutes}
