"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last one
is a check character over the first 17."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from medservice.core.crypto import normalize_phone

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code_check_character(first17: str) -> str:
    total = sum(
        ALPHABET.index(character) * weight
        for character, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    if not value:
        return
    code = value.strip().upper()
    if len(code) != 18 or any(character not in ALPHABET for character in code):
        raise ValidationError(
            _(
                "A unified social credit code has 18 characters (digits and capital letters, no I, O, S, V, Z)."
            ),
            code="credit_code_format",
        )
    if credit_code_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this credit code is wrong; please check the code."),
            code="credit_code_check",
        )


PHONE_PATTERNS = (
    re.compile(r"^1[3-9]\d{9}$"),  # mainland mobile
    re.compile(r"^0\d{2,3}\d{7,8}(\d{1,6})?$"),  # landline with area code (and extension)
    re.compile(r"^[48]00\d{7}$"),  # 400/800 service numbers
)


def validate_phone(value: str) -> None:
    """A mainland mobile or landline (138-1234-5678, 021-6543 2100, +86 138...), or an
    international number written with its + country code."""
    if not value:
        return
    raw = value.strip()
    if raw.startswith("+") and not raw.startswith("+86"):
        digits = re.sub(r"\D", "", raw)
        if 7 <= len(digits) <= 15:
            return
    else:
        digits = normalize_phone(raw)
        if any(pattern.match(digits) for pattern in PHONE_PATTERNS):
            return
    raise ValidationError(
        _(
            "%(value)s is not a valid phone number: write a mobile (138 1234 5678), a landline with "
            "its area code (021 6543 2100) or +country code."
        )
        % {"value": value},
        code="phone",
    )
