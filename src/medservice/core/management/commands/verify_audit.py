from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medservice.core.audit import audit_seal_pending, audit_verify_chain


class Command(BaseCommand):
    help = "Recompute the audit hash chain and name the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seal", action="store_true", help="seal committed pending events before checking"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            audit_seal_pending()
        report = audit_verify_chain()
        if not report.ok:
            where = (
                f"first broken event: {report.first_broken_event_id}"
                if report.first_broken_event_id
                else "chain head"
            )
            raise CommandError(
                f"Audit chain BROKEN after {report.checked} good links; {where}: {report.problem}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} events verified, {report.pending} not yet sealed."
            )
        )
