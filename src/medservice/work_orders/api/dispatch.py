"""The work-order API actions of the dispatch area (a mixin of the work-order viewset)."""

from __future__ import annotations


class DispatchActions:
    """Mixed into the work-order viewset."""
