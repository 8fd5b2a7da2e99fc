"""The work-order API actions of the onsite area (a mixin of the work-order viewset)."""

from __future__ import annotations


class OnsiteActions:
    """Mixed into the work-order viewset."""
