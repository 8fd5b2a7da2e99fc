"""`medservice ingest-email FILE [FILE ...]`: take raw RFC 822 messages (`-` reads one from
standard input) as the service mailbox would: each becomes a request or a reply on one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medservice.tickets.intake_email import email_ingest


class Command(BaseCommand):
    help = (
        "Ingest raw e-mail messages (RFC 822 files; '-' for standard input): each becomes a "
        "service request, or an entry on the request it answers."
    )
    # call_command(..., stdin=a binary stream) stands in for standard input in tests.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="message file, or -")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for name in options["files"]:
            try:
                raw = self._read(name, options.get("stdin"))
            except OSError as error:
                self.stderr.write(f"{name}: cannot read: {error.strerror or error}")
                failed += 1
                continue
            try:
                result = email_ingest(raw)
            except Exception as error:  # one broken message must not stop the others
                self.stderr.write(f"{name}: failed: {error!r}")
                failed += 1
                continue
            line = f"{name}: {result.outcome}"
            if result.ticket is not None:
                line += f" {result.ticket.number}"
            line += f" {result.message_id}"
            if result.reason:
                line += f" ({result.reason})"
            if result.refused_attachments:
                line += f"; attachments refused: {', '.join(result.refused_attachments)}"
            if result.outcome == "rejected":
                failed += 1
                self.stderr.write(line)
            else:
                self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} message(s) could not be taken")

    @staticmethod
    def _read(name: str, stdin: Any) -> bytes:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read()
            return data.encode() if isinstance(data, str) else data
        return Path(name).read_bytes()
