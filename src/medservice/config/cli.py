"""The `medservice` console command: Django management with MedService's settings.

Commands may be typed with hyphens (`medservice verify-audit`) as the documentation writes
them; they map to Django's underscore module names.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medservice.config.settings")
    from django.core.management import execute_from_command_line

    arguments = list(sys.argv if argv is None else argv)
    if len(arguments) > 1 and not arguments[1].startswith("-"):
        arguments[1] = arguments[1].replace("-", "_")
    arguments[0] = "medservice"
    execute_from_command_line(arguments)


if __name__ == "__main__":
    main()
