"""CAPA (corrective and preventive actions, and improvement actions): one tracker."""

from __future__ import annotations

import datetime
from typing import Any


def capa_open(
    *,
    actor: Any,
    kind: str,
    problem: str,
    source: Any = None,
    source_label: str = "",
    owner: Any = None,
    due_on: datetime.date | None = None,
) -> Any:
    """Open a CAPA of `kind` ("corrective", "preventive", "improvement") about `problem`, raised
    by `source` (any record: a quality case, a trend signal, a spot-check finding...) and
    described by `source_label` (its number). Returns the Capa."""
    raise NotImplementedError
