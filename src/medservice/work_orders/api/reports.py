"""The work-order API actions of the reports area (a mixin of the work-order viewset)."""

from __future__ import annotations


class ReportsActions:
    """Mixed into the work-order viewset."""
