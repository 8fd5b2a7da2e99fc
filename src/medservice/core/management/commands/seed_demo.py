from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medservice.core.demo import demo_seed_all


class Command(BaseCommand):
    help = "Load the demo company, customers and one user per role (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="seed outside a demo deployment")
        parser.add_argument("--if-empty", action="store_true", help="only when no user exists yet")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.MEDSERVICE_DEMO or options["force"]):
            raise CommandError(
                "Refused: this is not a demo deployment. Set MEDSERVICE_DEMO=1 or pass --force."
            )
        if options["if_empty"]:
            from django.contrib.auth import get_user_model

            if get_user_model().objects.exists():
                self.stdout.write("Database already has users; demo data not loaded.")
                return
        ran = demo_seed_all()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {', '.join(ran)}"))
