"""Backup and restore (issue 12): a seeded system backed up, restored into a different, empty
database by `medservice restore` in a subprocess, and compared table by table, row by row,
and file by file; tampering, a wrong key and a non-empty target are refused; retention exact.

The PostgreSQL round trip runs when DATABASE_URL is postgres://..., the SQLite one otherwise.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from medservice.core.audit import audit_seal_pending, audit_verify_chain
from medservice.core.backup import (
    KEY_ENVIRONMENT,
    MANIFEST_NAME,
    BackupError,
    RestoreCheckError,
    archive_name,
    archive_unpack,
    backup_create,
    restore_archive,
    retention_keep,
    storage_walk,
)
from medservice.core.models import AuditEvent, ImportJob

ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgres")
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL round trip: runs when DATABASE_URL=postgres://... (CI's PostgreSQL job)",
)
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="SQLite round trip: runs when DATABASE_URL is unset or sqlite://..."
)
DEMO_SEED_BEFORE = 40  # the demo seeders before service requests
KEY = "correct horse battery staple 备份"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roles_present(transactional_db) -> None:
    """Flushing after a transactional test recreates the role groups (post_migrate); make sure."""
    from django.contrib.auth.models import Group

    from medservice.accounts.roles import ROLE_PERMISSIONS, roles_sync

    names = {str(role) for role in ROLE_PERMISSIONS}
    if set(Group.objects.filter(name__in=names).values_list("name", flat=True)) != names:
        roles_sync()


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def _upload_files(company: Any) -> dict[str, str]:
    """Uploaded files (binary, Chinese names, nested) and the audited records that name them,
    sealed into the chain; returns each file's SHA-256."""
    from tests.factories import UserFactory

    user = UserFactory(organization=company)
    contents = {
        "imports/2026/11/联系人.xlsx": b"PK\x03\x04" + bytes(range(256)) * 40,
        "imports/2026/11/devices.csv": "序列号,型号\nSN-001,监护仪\n".encode(),
    }
    for name, data in contents.items():
        ImportJob.objects.create(
            kind="contacts",
            file=default_storage.save(name, ContentFile(data)),
            original_name=Path(name).name,
            uploaded_by=user,
        )
    extra = default_storage.save("returns/17/发票 photo.jpg", ContentFile(b"\xff\xd8\xff" * 999))
    contents[extra] = b"\xff\xd8\xff" * 999
    audit_seal_pending()
    return {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}


@pytest.fixture
def seeded(media: Path, company) -> dict[str, str]:
    """The demo's master data (organisations, users, contacts, catalogue with its documents,
    training, installed base, spare parts) and the uploads, all audited and sealed. The later
    demo seeders need the reporting rules of a data migration, which the flush after a
    transactional test removes."""
    from django.db import transaction

    from medservice.core.context import audit_context
    from medservice.core.demo import SEEDERS

    with transaction.atomic(), audit_context(job="seed-demo"):
        for seeder in sorted(SEEDERS.values(), key=lambda item: item.order):
            if seeder.order < DEMO_SEED_BEFORE:
                seeder.function()
    return _upload_files(company)


@pytest.fixture
def uploads(media: Path, company) -> dict[str, str]:
    return _upload_files(company)


def _storage_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


RESTORED = (
    "Restore complete: %(tables)s tables (%(rows)s rows) match the manifest; "
    "%(files)s files restored, %(unchanged)s already present; audit chain "
    "intact (%(events)s events verified)."
)
NOT_EMPTY = (
    "The target database is not empty (%(count)s tables, e.g. %(table)s). "
    "Restore into a new, empty database, or pass --force to replace it."
)


def _says(message: str, output: str) -> bool:
    """True when the command's output holds `message` as the operator reads it: commands speak
    the installation's language (settings.LANGUAGE_CODE), any value in each placeholder."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        text = translation.gettext(message)
    pattern = re.sub(r"%\\\(\w+\\\)s", ".+?", re.escape(text))
    return re.search(pattern, output) is not None


def _medservice(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("medservice")
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE", KEY_ENVIRONMENT}
        and not key.startswith("PYTEST")
    }
    return subprocess.run(
        [str(command), *arguments],
        env={
            **base,
            "SECRET_KEY": "backup-test-secret-key",
            "FIELD_ENCRYPTION_KEY": "backup-test-field-key",
            "LANGUAGE": "en",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _tables_and_keys(cursor: Any) -> dict[str, str | None]:
    tables = connection.introspection.table_names(cursor)
    return {
        table: connection.introspection.get_primary_key_column(cursor, table) for table in tables
    }


def _rows(dbapi_connection: Any, table: str, key: str | None) -> tuple[list[str], list[tuple]]:
    cursor = dbapi_connection.cursor()
    cursor.execute(f'SELECT * FROM "{table}" LIMIT 0')
    columns = [column[0] for column in cursor.description]
    order = f'"{key}"' if key else ", ".join(f'"{column}"' for column in columns)
    cursor.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
    return columns, [tuple(row) for row in cursor.fetchall()]


def _compare_databases(source: Any, restored: Any) -> int:
    """Every table of the source, every column of every row, ordered by primary key."""
    with connection.cursor() as cursor:
        tables = _tables_and_keys(cursor)
    assert len(tables) > 50
    compared = 0
    for table, key in sorted(tables.items()):
        source_columns, source_rows = _rows(source, table, key)
        restored_columns, restored_rows = _rows(restored, table, key)
        assert restored_columns == source_columns, table
        assert restored_rows == source_rows, f"table {table} differs after restore"
        compared += len(source_rows)
    return compared


def _assert_round_trip(result: Any, seeded: dict[str, str], media: Path, restored_media: Path):
    manifest = result.manifest
    assert manifest["format_version"] == 1
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["migrations"]["core"].startswith("0")
    assert manifest["tables"][AuditEvent._meta.db_table] == AuditEvent.objects.count() > 0
    assert manifest["audit_chain_head"]["last_index"] == AuditEvent.objects.count()
    assert {entry["name"]: entry["sha256"] for entry in manifest["files"]} == _storage_hashes(media)
    restored_files = _storage_hashes(restored_media)
    assert restored_files == _storage_hashes(media)
    for name, digest in seeded.items():
        assert restored_files[name] == digest
    assert any(name.startswith("documents/") for name in restored_files)  # the demo's files


@sqlite_only
def test_sqlite_backup_restores_into_a_new_database_with_every_row_and_file(
    seeded, media, tmp_path
):
    (tmp_path / "backups").mkdir()
    result = backup_create(tmp_path / "backups", passphrase=KEY)
    assert result.path.name.endswith(".tar.gz.enc")
    target = tmp_path / "restored" / "medservice.sqlite3"
    restored_media = tmp_path / "restored-media"
    completed = _medservice(
        ["restore", str(result.path)],
        {
            "DATABASE_URL": f"sqlite:///{target}",
            "MEDIA_ROOT": str(restored_media),
            "MEDSERVICE_VAR_DIR": str(tmp_path / "restored"),
            KEY_ENVIRONMENT: KEY,
        },
    )
    assert completed.returncode == 0, completed.stderr
    assert _says(RESTORED, completed.stdout)

    source = sqlite3.connect(f"file:{connection.settings_dict['NAME']}?mode=ro", uri=True)
    restored = sqlite3.connect(target)
    try:
        assert _compare_databases(source, restored) > 1000
    finally:
        source.close()
        restored.close()
    _assert_round_trip(result, seeded, media, restored_media)

    # Restoring again into the now filled database is refused; --force replaces it.
    environment = {
        "DATABASE_URL": f"sqlite:///{target}",
        "MEDIA_ROOT": str(restored_media),
        "MEDSERVICE_VAR_DIR": str(tmp_path / "restored"),
        KEY_ENVIRONMENT: KEY,
    }
    again = _medservice(["restore", str(result.path)], environment)
    assert again.returncode != 0
    assert _says(NOT_EMPTY, again.stderr)
    forced = _medservice(["restore", str(result.path), "--force"], environment)
    assert forced.returncode == 0, forced.stderr
    assert _says(RESTORED, forced.stdout)


@pytest.fixture
def postgres_target() -> Any:
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    import psycopg

    settings_dict = connection.settings_dict
    name = f"medservice_restore_{uuid.uuid4().hex[:10]}"
    admin = {
        key: value
        for key, value in {
            "dbname": "postgres",
            "user": settings_dict.get("USER"),
            "password": settings_dict.get("PASSWORD"),
            "host": settings_dict.get("HOST"),
            "port": settings_dict.get("PORT"),
        }.items()
        if value
    }
    with psycopg.connect(**admin, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    url = f"postgres://{user}{password}@{host}:{port}/{name}"
    yield url, {**admin, "dbname": name}
    with psycopg.connect(**admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@postgres_only
def test_postgres_backup_restores_into_a_new_database_with_every_row_and_file(
    seeded, media, tmp_path, postgres_target
):
    import psycopg

    url, parameters = postgres_target
    result = backup_create(tmp_path / "medservice.tar.gz.enc", passphrase=KEY)
    restored_media = tmp_path / "restored-media"
    completed = _medservice(
        ["restore", str(result.path)],
        {
            "DATABASE_URL": url,
            "MEDIA_ROOT": str(restored_media),
            "MEDSERVICE_VAR_DIR": str(tmp_path / "restored"),
            KEY_ENVIRONMENT: KEY,
        },
    )
    assert completed.returncode == 0, completed.stderr
    assert _says(RESTORED, completed.stdout)

    source_parameters = {**parameters, "dbname": connection.settings_dict["NAME"]}
    with psycopg.connect(**source_parameters) as source, psycopg.connect(**parameters) as restored:
        assert _compare_databases(source, restored) > 1000
        # The append-only triggers came back with the dump.
        triggers = restored.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE %s ORDER BY 1", ["core_audit%"]
        ).fetchall()
        assert [row[0] for row in triggers] == [
            "core_auditevent_append_only",
            "core_auditseal_append_only",
        ]
    _assert_round_trip(result, seeded, media, restored_media)

    # A second restore into the now filled database is refused, and says how to go on.
    again = _medservice(
        ["restore", str(result.path)],
        {"DATABASE_URL": url, "MEDIA_ROOT": str(restored_media), KEY_ENVIRONMENT: KEY},
    )
    assert again.returncode != 0
    assert _says(NOT_EMPTY, again.stderr)
    forced = _medservice(
        ["restore", str(result.path), "--force"],
        {"DATABASE_URL": url, "MEDIA_ROOT": str(restored_media), KEY_ENVIRONMENT: KEY},
    )
    assert forced.returncode == 0, forced.stderr
    assert _says(RESTORED, forced.stdout)


# --- Refusals -------------------------------------------------------------------------------


def _rewrite_archive(source: Path, target: Path, change: dict[str, bytes]) -> None:
    """Copy a plain archive, replacing the named members' contents (the manifest kept)."""
    with tarfile.open(source, "r:gz") as original, tarfile.open(target, "w:gz") as copy:
        for member in original:
            data = original.extractfile(member).read()
            data = change.get(member.name, data)
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))


def test_a_tampered_file_is_refused_before_anything_is_loaded_and_named(uploads, tmp_path):
    result = backup_create(tmp_path / "plain.tar.gz")
    name = "imports/2026/11/devices.csv"
    tampered = tmp_path / "tampered.tar.gz"
    _rewrite_archive(result.path, tampered, {f"files/{name}": b"SN-666,forged\n"})
    with pytest.raises(RestoreCheckError) as raised:
        archive_unpack(tampered, tmp_path / "unpacked")
    assert raised.value.problems == [f"File {name}: checksum mismatch"]

    with pytest.raises(CommandError, match="1 problems"):
        call_command("restore", str(tampered), stdout=io.StringIO(), stderr=io.StringIO())
    # Nothing was loaded: the (non-empty) database is as it was.
    assert audit_verify_chain().ok

    dump = result.manifest["database"]["member"]
    damaged = tmp_path / "damaged-dump.tar.gz"
    _rewrite_archive(result.path, damaged, {dump: b"not a database"})
    with pytest.raises(
        RestoreCheckError, match=re.escape(f"Database dump {dump}: checksum mismatch")
    ):
        archive_unpack(damaged, tmp_path / "unpacked-2")


def test_a_file_missing_from_the_manifest_or_the_archive_is_named(uploads, tmp_path):
    result = backup_create(tmp_path / "plain.tar.gz")
    manifest = dict(result.manifest)
    manifest["files"] = [*manifest["files"], {"name": "ghost.pdf", "sha256": "0" * 64, "size": 1}]
    edited = tmp_path / "edited.tar.gz"
    _rewrite_archive(result.path, edited, {MANIFEST_NAME: json.dumps(manifest).encode()})
    with pytest.raises(RestoreCheckError, match=r"File ghost\.pdf: missing from the archive"):
        archive_unpack(edited, tmp_path / "unpacked")


def test_a_wrong_or_missing_key_is_refused_clearly(uploads, tmp_path, monkeypatch):
    result = backup_create(tmp_path / "secret.tar.gz.enc", passphrase=KEY)
    with pytest.raises(BackupError, match=f"Wrong backup key: {KEY_ENVIRONMENT}"):
        archive_unpack(result.path, tmp_path / "a", passphrase="not the key")

    monkeypatch.setenv(KEY_ENVIRONMENT, "not the key")
    with pytest.raises(CommandError, match="Wrong backup key"):
        call_command("restore", str(result.path), "--check-only", stdout=io.StringIO())

    monkeypatch.delenv(KEY_ENVIRONMENT)
    with pytest.raises(CommandError, match=f"encrypted: set {KEY_ENVIRONMENT}"):
        call_command("restore", str(result.path), "--check-only", stdout=io.StringIO())

    monkeypatch.setenv(KEY_ENVIRONMENT, KEY)
    output = io.StringIO()
    call_command("restore", str(result.path), "--check-only", stdout=output)
    assert "Archive intact" in output.getvalue()


def test_a_damaged_or_truncated_encrypted_archive_is_refused(uploads, tmp_path):
    result = backup_create(tmp_path / "secret.tar.gz.enc", passphrase=KEY)
    data = bytearray(result.path.read_bytes())
    flipped = tmp_path / "flipped.tar.gz.enc"
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged or truncated"):
        archive_unpack(flipped, tmp_path / "a", passphrase=KEY)

    truncated = tmp_path / "truncated.tar.gz.enc"
    truncated.write_bytes(result.path.read_bytes()[:-100])
    with pytest.raises(BackupError, match="damaged or truncated"):
        archive_unpack(truncated, tmp_path / "b", passphrase=KEY)


def test_the_encryption_streams_in_chunks_and_round_trips(tmp_path):
    from medservice.core.backup import DecryptingReader, EncryptingWriter

    plain = os.urandom(3 * 1024 + 5)
    for size in (0, 1024, 2048, len(plain)):  # empty, exact multiples of the chunk, a tail
        sink = io.BytesIO()
        writer = EncryptingWriter(sink, KEY, chunk_size=1024)
        for start in range(0, size, 700):
            writer.write(plain[start : min(start + 700, size)])
        writer.close()
        sink.seek(0)
        assert DecryptingReader(sink, KEY).read() == plain[:size]


def test_a_non_empty_target_database_is_refused(uploads, tmp_path):
    result = backup_create(tmp_path / "plain.tar.gz")
    events = AuditEvent.objects.count()
    with pytest.raises(BackupError, match="The target database is not empty"):
        restore_archive(result.path)
    assert AuditEvent.objects.count() == events

    output = io.StringIO()
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(result.path), stdout=output)


def test_the_backup_command_writes_a_dated_archive_and_reports_it(uploads, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENVIRONMENT, raising=False)
    with pytest.raises(CommandError, match="Encryption required"):
        call_command("backup", str(tmp_path), "--require-encryption", stdout=io.StringIO())
    output = io.StringIO()
    call_command("backup", str(tmp_path), stdout=output)
    (archive,) = tmp_path.glob("medservice-*.tar.gz")
    assert f"Backup written: {archive}" in output.getvalue()
    assert "not encrypted" in output.getvalue()
    assert sorted(storage_walk(default_storage)) == sorted(uploads)


# --- Scheduled backups and retention --------------------------------------------------------


def _utc(year: int, month: int, day: int, hour: int = 2) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC)


def test_retention_keeps_7_daily_4_weekly_12_monthly_exactly():
    # One backup a day at 02:00 from 2025-10-01 to 2026-11-28 (a Saturday), plus a second one
    # on the last day: 424 archives.
    start = _utc(2025, 10, 1)
    times = [start + datetime.timedelta(days=offset) for offset in range(424)]
    assert times[-1] == _utc(2026, 11, 28)
    times.append(_utc(2026, 11, 28, 14))
    keep = retention_keep(times, daily=7, weekly=4, monthly=12)
    assert sorted(keep) == [
        # monthly: the newest of each month, 12 months back (Dec 2025 .. Nov 2026)
        _utc(2025, 12, 31),
        _utc(2026, 1, 31),
        _utc(2026, 2, 28),
        _utc(2026, 3, 31),
        _utc(2026, 4, 30),
        _utc(2026, 5, 31),
        _utc(2026, 6, 30),
        _utc(2026, 7, 31),
        _utc(2026, 8, 31),
        _utc(2026, 9, 30),
        _utc(2026, 10, 31),
        # weekly: the newest of each ISO week (Sundays), 4 weeks back
        _utc(2026, 11, 8),
        _utc(2026, 11, 15),
        # daily: the newest of each of the last 7 days (22 Nov is also week 47's newest)
        _utc(2026, 11, 22),
        _utc(2026, 11, 23),
        _utc(2026, 11, 24),
        _utc(2026, 11, 25),
        _utc(2026, 11, 26),
        _utc(2026, 11, 27),
        _utc(2026, 11, 28, 14),  # also November's and week 48's newest
    ]


def test_retention_counts_periods_that_have_a_backup_not_calendar_periods():
    times = [_utc(2026, 1, 5), _utc(2026, 3, 2), _utc(2026, 3, 9), _utc(2026, 6, 1)]
    assert retention_keep(times, daily=2, weekly=0, monthly=0) == {
        _utc(2026, 3, 9),
        _utc(2026, 6, 1),
    }
    assert retention_keep(times, daily=0, weekly=0, monthly=2) == {
        _utc(2026, 3, 9),
        _utc(2026, 6, 1),
    }
    assert retention_keep(times, daily=0, weekly=0, monthly=12) == {
        _utc(2026, 1, 5),
        _utc(2026, 3, 9),
        _utc(2026, 6, 1),
    }
    assert retention_keep([], daily=7, weekly=4, monthly=12) == set()


def test_the_scheduled_job_writes_into_backup_dir_and_applies_retention(
    settings, media, tmp_path, monkeypatch
):
    from medservice.core.jobs import scheduled_backup
    from medservice.core.scheduler import JOBS

    assert JOBS["core.backup"].every == datetime.timedelta(days=1)
    directory = tmp_path / "backups"
    settings.BACKUP_DIR = directory
    settings.BACKUP_SCHEDULE = False
    assert scheduled_backup() is None
    assert not directory.exists()

    settings.BACKUP_SCHEDULE = True
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY = 2, 0
    settings.BACKUP_KEEP_MONTHLY = 0
    directory.mkdir()
    old = [
        directory / archive_name(_utc(2020, 1, day), encrypted=day % 2 == 0) for day in (1, 2, 3)
    ]
    for path in old:
        path.write_bytes(b"old")
    unrelated = directory / "notes.txt"
    unrelated.write_text("kept")
    monkeypatch.setenv(KEY_ENVIRONMENT, KEY)
    path = Path(scheduled_backup())
    assert path.parent == directory and path.name.endswith(".tar.gz.enc")
    assert sorted(directory.iterdir()) == sorted([old[2], path, unrelated])


def test_files_are_found_through_the_storage_api_not_the_filesystem(tmp_path):
    """Any storage with listdir/open/size works (S3 through django-storages alike)."""
    from django.core.files.storage import InMemoryStorage

    storage = InMemoryStorage()
    files = {"a/b/c/深层.pdf": b"%PDF-1.7 deep", "top.txt": b"top", "a/x.bin": bytes(70000)}
    for name, data in files.items():
        storage.save(name, ContentFile(data))
    result = backup_create(tmp_path / "memory.tar.gz", storage=storage)
    assert [entry["name"] for entry in result.manifest["files"]] == [
        "top.txt",
        "a/x.bin",
        "a/b/c/深层.pdf",
    ]
    unpacked = archive_unpack(result.path, tmp_path / "unpacked")
    for name, data in files.items():
        assert unpacked.file_path(name).read_bytes() == data
