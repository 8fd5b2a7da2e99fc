import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from medservice.core.scheduler import JOBS, scheduler_identity, scheduler_tick


class Command(BaseCommand):
    help = "Run periodic jobs (audit sealing, sweeps, reminders) under database leases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over due jobs, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = scheduler_identity()
        if options["once"]:
            ran = scheduler_tick(owner=owner)
            self.stdout.write(f"ran: {', '.join(ran) or 'nothing due'}")
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"scheduler {owner}: {len(JOBS)} jobs ({', '.join(sorted(JOBS))})")
        while not stopping:
            scheduler_tick(owner=owner)
            slept = 0.0
            while not stopping and slept < settings.MEDSERVICE_SCHEDULER_TICK_SECONDS:
                time.sleep(0.2)
                slept += 0.2
        self.stdout.write("scheduler stopped")
