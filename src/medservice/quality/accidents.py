"""Quality accidents (质量事故)."""

from __future__ import annotations

from typing import Any


def accident_open_from_case(*, actor: Any, case: Any) -> Any:
    """Open the quality accident of a case decided as a quality accident, prefilled from the
    case. Returns the QualityAccident; once per case."""
    raise NotImplementedError
