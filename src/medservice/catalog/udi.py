"""UDI from a barcode scanner: GS1 element strings (raw, with FNC1/GS separators, or written
with parentheses) parsed by biip into the device identifier (01), batch (10), serial (21),
production (11) and expiry (17) dates."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from biip import ParseError
from biip.gs1_messages import GS1Message
from django.utils.translation import gettext as _

from medservice.core.errors import InvalidInputError


@dataclass(frozen=True)
class UdiData:
    udi_di: str
    batch_number: str
    serial_number: str
    production_date: datetime.date | None
    expiry_date: datetime.date | None

    @property
    def udi_pi(self) -> str:
        """The production identifier part as printed: (11)…(17)…(10)…(21)…"""
        parts = []
        if self.production_date:
            parts.append(f"(11){self.production_date:%y%m%d}")
        if self.expiry_date:
            parts.append(f"(17){self.expiry_date:%y%m%d}")
        if self.batch_number:
            parts.append(f"(10){self.batch_number}")
        if self.serial_number:
            parts.append(f"(21){self.serial_number}")
        return "".join(parts)


def udi_parse(code: str) -> UdiData:
    """Parse a scanned or typed GS1 UDI; a clear, translated error when it is not one."""
    text = (code or "").strip()
    if not text:
        raise InvalidInputError(_("Scan or type a UDI."), fields={"code": [_("Required.")]})
    try:
        if text.startswith("("):
            message = GS1Message.parse_hri(text)
        else:
            # Scanners send "]d2"/"]C1" prefixes and GS (\x1d) between variable-length fields;
            # some keyboard wedges turn GS into a literal "<GS>" or "|".
            cleaned = text.replace("<GS>", "\x1d").replace("|", "\x1d")
            for prefix in ("]d2", "]C1", "]Q3", "]e0"):
                cleaned = cleaned.removeprefix(prefix)
            message = GS1Message.parse(cleaned)
    except ParseError as error:
        raise InvalidInputError(
            _("This is not a GS1 UDI: %(error)s") % {"error": error},
            fields={"code": [_("Not a GS1 UDI.")]},
        ) from error
    values: dict[str, object] = {}
    for element in message.element_strings:
        values[element.ai.ai] = element.date if element.date is not None else element.value
    if "01" not in values:
        raise InvalidInputError(
            _("The UDI has no device identifier (01)."),
            fields={"code": [_("No (01) device identifier.")]},
        )
    return UdiData(
        udi_di=str(values["01"]),
        batch_number=str(values.get("10", "")),
        serial_number=str(values.get("21", "")),
        production_date=values.get("11") if isinstance(values.get("11"), datetime.date) else None,
        expiry_date=values.get("17") if isinstance(values.get("17"), datetime.date) else None,
    )
