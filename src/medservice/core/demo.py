"""Demo data: each app registers a seeder; `medservice seed-demo` runs them in order.

Seeders must be idempotent (get-or-create on natural keys) so a second run adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from medservice.core.context import audit_context


@dataclass(frozen=True)
class DemoSeeder:
    name: str
    order: int
    function: Callable[[], None]


SEEDERS: dict[str, DemoSeeder] = {}


def demo_seeder(name: str, *, order: int) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(function: Callable[[], None]) -> Callable[[], None]:
        SEEDERS[name] = DemoSeeder(name, order, function)
        return function

    return register


def demo_seed_all() -> list[str]:
    ran = []
    with transaction.atomic(), audit_context(job="seed-demo"):
        for seeder in sorted(SEEDERS.values(), key=lambda item: item.order):
            seeder.function()
            ran.append(seeder.name)
    return ran
