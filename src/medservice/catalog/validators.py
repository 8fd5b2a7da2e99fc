"""Shape checks of catalogue identifiers: the UDI-DI (GS1 GTIN check digit) and the Chinese
registration / filing certificate numbers (注册证编号 / 备案编号).

The certificate check is deliberately loose: it recognises the current formats and the
pre-2014 ones and catches typing mistakes and a class that contradicts the number; it is not
a look-up in the regulator's database.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from medservice.catalog.choices import RiskClass

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of a GTIN without its last digit."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body[::-1]))
    return str((10 - total % 10) % 10)


def validate_udi_di(value: str) -> None:
    """A GS1 UDI-DI is a GTIN whose check digit must match; other issuing agencies (HIBCC
    codes starting '+', ICCBBA, China's MA codes starting 'MA.') are accepted as written."""
    if not value:
        return
    code = value.strip()
    if not code.isdigit():
        if code.startswith(("+", "=", "&", "MA.")):
            return
        raise ValidationError(
            _(
                "A UDI-DI is a GS1 GTIN of 14 digits (e.g. 06951234500016), or a HIBCC, ICCBBA "
                "or MA code as printed on the label."
            ),
            code="udi_di_format",
        )
    if len(code) not in GTIN_LENGTHS:
        raise ValidationError(
            _("A GS1 UDI-DI has 8, 12, 13 or 14 digits; this one has %(count)d.")
            % {"count": len(code)},
            code="udi_di_length",
        )
    if gtin_check_digit(code[:-1]) != code[-1]:
        raise ValidationError(
            _("The check digit of this UDI-DI is wrong (the last digit should be %(digit)s).")
            % {"digit": gtin_check_digit(code[:-1])},
            code="udi_di_check",
        )


# 国械注准20213070123: issuer (国 = NMPA, 沪/粤/苏... = province), 注准 domestic / 注进 imported /
# 注许 Hong Kong, Macao, Taiwan, year, management class, classification code, serial.
CERTIFICATE = re.compile(
    r"^(?P<issuer>[\u4e00-\u9fa5]{1,3})械注(?P<kind>[准进许])"
    r"(?P<year>(19|20)\d{2})(?P<klass>[123])(?P<code>\d{2})(?P<serial>\d{4})$"
)
# 沪械备20200012号, 苏锡械备20190034号, 国械备20190005号: class I filings (备案).
FILING = re.compile(r"^[\u4e00-\u9fa5]{1,4}械备(?P<year>(19|20)\d{2})(?P<serial>\d{4,6})号?$")
# Before 2014: 国食药监械(准)字2012第3210123号, 沪食药监械(准)字2013第2210456号.
LEGACY = re.compile(r"^[\u4e00-\u9fa5]{1,4}药监械[（(][准进许][)）]字(19|20)\d{2}第\d{7}号$")

CLASS_DIGIT = {RiskClass.CLASS_I: "1", RiskClass.CLASS_II: "2", RiskClass.CLASS_III: "3"}


def normalize_registration_number(value: str) -> str:
    """Numbers are copied from certificates and PDFs: drop the spaces that come with them."""
    return re.sub(r"\s+", "", value or "")


def registration_number_problems(number: str, risk_class: str) -> list[str]:
    """What is wrong with a model's certificate number for its risk class (empty when fine).

    Class II and III models need a registration certificate (注册证); a class I model is filed
    (备案), and may still lack the number while it is being filed."""
    number = normalize_registration_number(number)
    class_ii_or_iii = risk_class in (RiskClass.CLASS_II, RiskClass.CLASS_III)
    if not number:
        if class_ii_or_iii:
            return [
                _(
                    "A class II or III device model needs its registration certificate number "
                    "(注册证编号)."
                )
            ]
        return []
    if LEGACY.match(number):
        return []
    certificate = CERTIFICATE.match(number)
    if FILING.match(number):
        if class_ii_or_iii:
            return [
                _(
                    "%(number)s is a filing number (备案), which only class I models have; a "
                    "class II or III model has a registration certificate such as "
                    "国械注准20213070123."
                )
                % {"number": number}
            ]
        return []
    if certificate:
        found = certificate.group("klass")
        if risk_class in CLASS_DIGIT and found != CLASS_DIGIT[risk_class]:
            return [
                _(
                    "%(number)s is the certificate of a class %(found)s device (the digit after "
                    "the year), but this model is class %(risk_class)s."
                )
                % {
                    "number": number,
                    "found": "I" * int(found),
                    "risk_class": risk_class,
                }
            ]
        return []
    if risk_class == RiskClass.CLASS_I:
        return [
            _(
                "%(number)s does not look like a filing number; write it as on the filing "
                "certificate, e.g. 沪械备20200012号."
            )
            % {"number": number}
        ]
    return [
        _(
            "%(number)s does not look like a registration certificate number; write it as on "
            "the certificate, e.g. 国械注准20213070123 or 沪械注准20202070345."
        )
        % {"number": number}
    ]
