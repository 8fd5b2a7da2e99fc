"""Stop-use notices and recalls (召回)."""

from __future__ import annotations
