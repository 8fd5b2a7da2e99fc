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
