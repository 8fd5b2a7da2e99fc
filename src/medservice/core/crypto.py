"""Personal data at rest (PIPL): field encryption, blind indexes for exact look-up, masking,
and per-person keys for personal values inside the audit trail.

Keys derive from FIELD_ENCRYPTION_KEY with HKDF, one sub-key per purpose, so the blind index
key never encrypts and the encryption key never indexes. A person's audit values are encrypted
under that person's own random key (itself stored encrypted); anonymisation destroys the key,
which makes those values unreadable while the audit chain, which hashes the ciphertext, stays
verifiable.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

ENCRYPTED_PREFIX = "enc1:"
PERSONAL_PREFIX = "pii1:"
ANONYMISED = "[anonymised]"


@functools.cache
def _subkey(purpose: str, master: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"medservice", info=purpose.encode()
    ).derive(master.encode())


def _fernet(purpose: str = "field-encryption") -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_subkey(purpose, settings.FIELD_ENCRYPTION_KEY)))


def encrypt_text(value: str) -> str:
    return ENCRYPTED_PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    if not token.startswith(ENCRYPTED_PREFIX):
        return token  # written before encryption was configured, or plain test data
    return _fernet().decrypt(token.removeprefix(ENCRYPTED_PREFIX).encode()).decode()


def normalize_phone(value: str) -> str:
    """Digits only, without China's +86 / 0086 prefix: 138-1234-5678 == +86 13812345678."""
    digits = re.sub(r"\D", "", value or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits


def blind_index(value: str, *, kind: str = "phone") -> str:
    """A keyed hash for exact look-up of an encrypted value; empty for an empty value."""
    normalized = normalize_phone(value) if kind == "phone" else (value or "").strip().lower()
    if not normalized:
        return ""
    key = _subkey(f"blind-index:{kind}", settings.FIELD_ENCRYPTION_KEY)
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def mask_phone(value: str) -> str:
    """138****5678: enough to recognise a number, not to call it."""
    digits = normalize_phone(value)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_text(value: str) -> str:
    """Keep the first character: 王** for a name, z***@example.com for an e-mail."""
    if not value:
        return ""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "*" * (len(value) - 1)


class EncryptedTextField(models.TextField):
    """Text stored encrypted; read back as plain text. Not searchable: pair it with a blind
    index field for exact look-up."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        try:
            return decrypt_text(value)
        except InvalidToken:
            return "[undecryptable]"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or str(value).startswith(ENCRYPTED_PREFIX):
            return value
        return encrypt_text(str(value))


# --- Per-person keys for personal values in the audit trail --------------------------------


def person_fernet(subject: str, *, create: bool = True) -> Fernet | None:
    from medservice.core.models import PersonKey

    record = PersonKey.objects.filter(subject=subject).first()
    if record is None:
        if not create:
            return None
        record, _created = PersonKey.objects.get_or_create(
            subject=subject, defaults={"key": encrypt_text(Fernet.generate_key().decode())}
        )
    if record.destroyed_at is not None or not record.key:
        return None
    return Fernet(decrypt_text(record.key).encode())


def seal_personal_value(subject: str, value: Any) -> Any:
    if value in (None, ""):
        return value
    fernet = person_fernet(subject)
    if fernet is None:
        return ANONYMISED
    return PERSONAL_PREFIX + fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()


def open_personal_value(subject: str, value: Any) -> Any:
    """The plain value of a sealed audit value, or "[anonymised]" once the key is gone."""
    if not isinstance(value, str) or not value.startswith(PERSONAL_PREFIX):
        return value
    fernet = person_fernet(subject, create=False)
    if fernet is None:
        return ANONYMISED
    try:
        return json.loads(fernet.decrypt(value.removeprefix(PERSONAL_PREFIX).encode()))
    except InvalidToken:
        return ANONYMISED
