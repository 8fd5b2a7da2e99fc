"""KPIs of docs/kpis.md, area: voice. Each is registered with @kpi in medservice.analytics.kpis."""

from __future__ import annotations
