"""Evidence files (photos, videos, PDFs, scans) uploaded by staff or customers: the type is
read from the file's content, never trusted from its name or the browser, and the size is
limited. Every app that takes uploads checks them here first."""

from __future__ import annotations

import unicodedata
from typing import Any

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

from medservice.core.errors import InvalidInputError

# What a service case needs as evidence: pictures, short videos, PDFs (scanned letters, faxes).
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/tiff": "tif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/3gpp": "3gp",
    "application/pdf": "pdf",
}


def attachment_max_bytes() -> int:
    return int(getattr(settings, "MEDSERVICE_ATTACHMENT_MAX_MB", 25)) * 1024 * 1024


def safe_filename(name: str, *, max_length: int = 150) -> str:
    """`name` as a plain file name: no folders (either slash), no control or format characters,
    no leading dots, no reserved characters, at most `max_length` characters with the extension
    kept. A name the browser or a phone sent is kept for people to read, never trusted."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        character
        for character in name
        if unicodedata.category(character)[0] != "C" and character not in '<>:"|?*'
    )
    name = name.strip().lstrip(".").strip()
    if len(name) > max_length:
        stem, dot, extension = name.rpartition(".")
        keep = extension[:16] if dot and stem else ""
        name = name[: max_length - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or "file"


def attachment_check(upload: Any, *, field: str = "file") -> str:
    """The file's real type (MIME), or a translated refusal naming the file and the problem.

    The upload's name is made safe in place (`safe_filename`), so whatever the caller stores or
    shows afterwards has no path and no control characters."""
    if getattr(upload, "name", ""):
        upload.name = safe_filename(upload.name)
    name = getattr(upload, "name", "") or _("the file")
    size = getattr(upload, "size", None) or 0
    limit = attachment_max_bytes()
    if size > limit:
        message = _("%(name)s is %(size)s MB; files up to %(limit)s MB are accepted.") % {
            "name": name,
            "size": round(size / 1024 / 1024, 1),
            "limit": limit // 1024 // 1024,
        }
        raise InvalidInputError(message, fields={field: [message]})
    if size == 0:
        message = _("%(name)s is empty.") % {"name": name}
        raise InvalidInputError(message, fields={field: [message]})
    position = upload.tell() if hasattr(upload, "tell") else 0
    head = upload.read(8192)
    upload.seek(position)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        message = _(
            "%(name)s is not a photo, video or PDF (found: %(found)s); those are the files "
            "accepted as evidence."
        ) % {"name": name, "found": kind.mime if kind else _("unknown content")}
        raise InvalidInputError(message, fields={field: [message]})
    return kind.mime


# An XLSX workbook is a ZIP archive; anything else claiming the name is refused unread.
_ZIP_MAGIC = b"PK\x03\x04"


def spreadsheet_check(upload: Any, *, field: str = "file") -> None:
    """An import file is what its name says by its content: an XLSX is a ZIP archive, a CSV is
    text (no NUL bytes, no known binary format). Refused with a translated message otherwise."""
    if getattr(upload, "name", ""):
        upload.name = safe_filename(upload.name)
    name = getattr(upload, "name", "") or _("the file")
    position = upload.tell() if hasattr(upload, "tell") else 0
    head = upload.read(8192)
    upload.seek(position)
    if name.lower().endswith(".xlsx"):
        readable = head.startswith(_ZIP_MAGIC)
    else:
        readable = b"\x00" not in head and filetype.guess(head) is None
    if not readable:
        kind = filetype.guess(head)
        message = _("%(name)s is not an XLSX or CSV file by its content (found: %(found)s).") % {
            "name": name,
            "found": kind.mime if kind else _("unknown content"),
        }
        raise InvalidInputError(message, fields={field: [message]})
