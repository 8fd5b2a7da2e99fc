from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from medservice.core.backup import (
    BackupError,
    RestoreCheckError,
    archive_unpack,
    backup_key_from_environment,
    restore_archive,
)


class Command(BaseCommand):
    help = (
        "Restore a `medservice backup` archive into an empty database: checksums verified "
        "before loading, then row counts and the audit chain checked against the manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="the archive written by `medservice backup`")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that is not empty (everything in it is lost) and "
            "overwrite stored files of the same names",
        )
        parser.add_argument(
            "--check-only",
            action="store_true",
            help="decrypt and verify the archive's checksums; load nothing",
        )
        parser.add_argument(
            "--no-privileges",
            action="store_true",
            help="PostgreSQL: skip the dump's GRANTs (roles missing on the target server)",
        )
        parser.add_argument("--work-dir", help="where to unpack the archive (default: TMPDIR)")
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"])
        if not archive.is_file():
            raise CommandError(_("No such archive: %(path)s") % {"path": archive})
        passphrase = backup_key_from_environment()
        work = Path(options["work_dir"]) if options["work_dir"] else None
        try:
            if options["check_only"]:
                import tempfile

                with tempfile.TemporaryDirectory(dir=work) as directory:
                    unpacked = archive_unpack(archive, Path(directory), passphrase=passphrase)
                self.stdout.write(
                    self.style.SUCCESS(
                        _(
                            "Archive intact: the database dump and %(files)s files match "
                            "their checksums (%(vendor)s, created %(created)s)."
                        )
                        % {
                            "files": len(unpacked.manifest["files"]),
                            "vendor": unpacked.manifest["database"]["vendor"],
                            "created": unpacked.manifest["created_at"],
                        }
                    )
                )
                return
            report = restore_archive(
                archive,
                passphrase=passphrase,
                force=options["force"],
                using=options["database"],
                work_directory=work,
                no_privileges=options["no_privileges"],
            )
        except RestoreCheckError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(
                _("Restore FAILED: %(count)s problems (listed above).")
                % {"count": len(error.problems)}
            ) from error
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Restore complete: %(tables)s tables (%(rows)s rows) match the manifest; "
                    "%(files)s files restored, %(unchanged)s already present; audit chain "
                    "intact (%(events)s events verified)."
                )
                % {
                    "tables": report.tables_checked,
                    "rows": report.rows_checked,
                    "files": report.files_restored,
                    "unchanged": report.files_unchanged,
                    "events": report.audit_events_verified,
                }
            )
        )
