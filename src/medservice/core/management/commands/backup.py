from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from medservice.core.backup import (
    KEY_ENVIRONMENT,
    BackupError,
    backup_create,
    backup_directory_prune,
    backup_key_from_environment,
)


class Command(BaseCommand):
    help = (
        "Write one consistent, compressed archive of the database and every stored file, "
        "with a manifest of counts and checksums; encrypted when MEDSERVICE_BACKUP_KEY is set."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "destination",
            nargs="?",
            help="a directory (the archive gets a dated name) or a file; default BACKUP_DIR",
        )
        parser.add_argument(
            "--no-encrypt",
            action="store_true",
            help=f"write a plain archive even when {KEY_ENVIRONMENT} is set",
        )
        parser.add_argument(
            "--require-encryption",
            action="store_true",
            help=f"fail unless {KEY_ENVIRONMENT} is set",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="then apply the retention (BACKUP_KEEP_*) to the destination directory",
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        destination = Path(options["destination"] or settings.BACKUP_DIR)
        if options["destination"] is None:
            destination.mkdir(parents=True, exist_ok=True)
        passphrase = None if options["no_encrypt"] else backup_key_from_environment()
        if passphrase is None and options["require_encryption"]:
            raise CommandError(
                _("Encryption required but %(variable)s is not set.")
                % {"variable": KEY_ENVIRONMENT}
            )
        try:
            result = backup_create(destination, passphrase=passphrase, using=options["database"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Backup written: %(path)s (%(tables)s tables, %(rows)s rows, "
                    "%(files)s files, %(encryption)s)."
                )
                % {
                    "path": result.path,
                    "tables": len(result.manifest["tables"]),
                    "rows": result.row_count,
                    "files": result.file_count,
                    "encryption": _("encrypted") if result.encrypted else _("not encrypted"),
                }
            )
        )
        if options["prune"] and result.path.parent.is_dir():
            for path in backup_directory_prune(result.path.parent):
                self.stdout.write(_("Removed by retention: %(path)s") % {"path": path})
