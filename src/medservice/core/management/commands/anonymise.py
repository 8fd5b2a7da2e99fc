from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date

from medservice.core.anonymisation import DEFAULT_BATCH_SIZE, anonymise_due


class Command(BaseCommand):
    help = (
        "Anonymise the personal data of regulated records whose retention has run out "
        "(REGULATORY.md R-PI): clear the personal fields, destroy the per-person audit keys, "
        "keep the record. Records under a legal hold are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be done; change nothing"
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help="records read per query (each record is its own transaction)",
        )  # fmt: skip
        parser.add_argument(
            "--today", default="", help="YYYY-MM-DD: judge retention as of this day (checks)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            today = parse_date(options["today"])
            if today is None:
                raise CommandError("--today must be a date: YYYY-MM-DD")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        report = anonymise_due(
            today=today, dry_run=options["dry_run"], batch_size=options["batch_size"]
        )
        verb = "would anonymise" if report.dry_run else "anonymised"
        for record in report.records:
            kept = record.retain_until.isoformat() if record.retain_until else "-"
            if record.skipped:
                self.stdout.write(
                    f"skipped {record.label} #{record.pk} {record.text} (kept until {kept}): "
                    f"{record.skipped}"
                )
            else:
                cleared = ", ".join(record.fields) or "nothing left to clear"
                self.stdout.write(
                    f"{verb} {record.label} #{record.pk} {record.text} (kept until {kept}): "
                    f"{cleared}"
                )
        summary = report.summary()
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary['anonymised']} records {verb}, {summary['skipped']} skipped "
                f"(retention judged as of {report.today.isoformat()})."
            )
        )
