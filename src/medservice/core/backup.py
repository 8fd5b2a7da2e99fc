"""Backup and restore (issue 12): one consistent, compressed, optionally encrypted archive.

An archive is a gzip-compressed tar stream holding

- ``database/db.sqlite3`` (SQLite: the online backup API into a file) or ``database/db.pgdump``
  (PostgreSQL: ``pg_dump -Fc``, taken in an exported snapshot);
- ``files/<name>``: every file of the default storage (``listdir`` walked, so S3 works too);
- ``manifest.json`` last: format and app version, creation time, database vendor, the latest
  migration per app, the row count of every table, the SHA-256 of the dump and of every file,
  and the audit chain head. Counts and chain head are read in the dump's own snapshot (SQLite:
  from the copied file; PostgreSQL: in the transaction whose snapshot pg_dump uses).

With a key (``MEDSERVICE_BACKUP_KEY``) the whole stream is encrypted with AES-256-GCM in
chunks (see ``EncryptingWriter``), so neither side holds the archive in memory.

Restore decrypts and unpacks into a work directory, checks every checksum against the manifest
before anything is loaded, refuses a target database that has tables (unless forced), loads
the dump, puts the files back into storage, and then checks the row count of every table and
the audit chain. Any mismatch names the table or file.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT_NAME = "medservice-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/db.sqlite3", "postgresql": "database/db.pgdump"}
FILES_PREFIX = "files/"
KEY_ENVIRONMENT = "MEDSERVICE_BACKUP_KEY"
ARCHIVE_PREFIX = "medservice-"
ARCHIVE_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
COPY_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (translated)."""


class RestoreCheckError(BackupError):
    """The restored data does not match the archive's manifest."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- Encryption -----------------------------------------------------------------------------
#
# Header (57 bytes), also the associated data of every chunk:
#   magic "MSBKENC1" | KDF id (1 = scrypt) | log2 N | r | p | salt (16) | chunk size (u32 BE)
#   | nonce prefix (7) | reserved (1) | key check (16)
# The key check is HMAC-SHA256(check key, header before it)[:16]: a wrong key is told apart
# from a damaged archive before any chunk is read. Chunk i is AES-256-GCM over at most
# `chunk size` bytes, nonce = prefix | i (u32 BE) | 1 for the last chunk else 0, so a
# truncated, reordered or extended stream fails authentication.

ENCRYPTION_MAGIC = b"MSBKENC1"
KDF_SCRYPT = 1
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
ENCRYPTION_CHUNK = 1024 * 1024
TAG_SIZE = 16
_HEADER_BODY = struct.Struct(">8sBBBB16sI7sB")
HEADER_SIZE = _HEADER_BODY.size + 16


def _derive_keys(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    if not 10 <= log2_n <= 20 or not 1 <= r <= 16 or not 1 <= p <= 4:
        raise BackupError(_("The archive's encryption header is damaged."))
    material = Scrypt(salt=salt, length=64, n=2**log2_n, r=r, p=p).derive(passphrase.encode())
    return material[:32], material[32:]


def backup_key_from_environment() -> str | None:
    """The backup passphrase or key, read from the environment only (never from settings)."""
    value = os.environ.get(KEY_ENVIRONMENT, "")
    return value or None


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given, one chunk at a time, into `sink`."""

    def __init__(self, sink: BinaryIO, passphrase: str, *, chunk_size: int = ENCRYPTION_CHUNK):
        super().__init__()
        salt, prefix = secrets.token_bytes(16), secrets.token_bytes(7)
        body = _HEADER_BODY.pack(
            ENCRYPTION_MAGIC, KDF_SCRYPT, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, chunk_size,
            prefix, 0,
        )  # fmt: skip
        key, check_key = _derive_keys(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        self.header = body + hmac.new(check_key, body, hashlib.sha256).digest()[:16]
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._chunk_size = chunk_size
        self._sink = sink
        self._buffer = bytearray()
        self._counter = 0
        sink.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        # Strictly more than a chunk: the last chunk is always written by close(), marked last.
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        self._sink.write(self._aead.encrypt(nonce, plain, self.header))
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream giving back the plaintext of an `EncryptingWriter` stream."""

    def __init__(self, source: BinaryIO, passphrase: str):
        super().__init__()
        header = source.read(HEADER_SIZE)
        if len(header) != HEADER_SIZE or not header.startswith(ENCRYPTION_MAGIC):
            raise BackupError(_("This file is not an encrypted MedService backup."))
        _magic, kdf, log2_n, r, p, salt, chunk_size, prefix, _reserved = _HEADER_BODY.unpack(
            header[: _HEADER_BODY.size]
        )
        if kdf != KDF_SCRYPT or not 1024 <= chunk_size <= 64 * 1024 * 1024:
            raise BackupError(_("The archive's encryption header is damaged."))
        key, check_key = _derive_keys(passphrase, salt, log2_n, r, p)
        expected = hmac.new(check_key, header[: _HEADER_BODY.size], hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(expected, header[_HEADER_BODY.size :]):
            raise BackupError(
                _("Wrong backup key: %(variable)s does not decrypt this archive.")
                % {"variable": KEY_ENVIRONMENT}
            )
        self._header = header
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._source = source
        self._block = chunk_size + TAG_SIZE
        self._next = source.read(self._block)
        self._counter = 0
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _decrypt_next(self) -> None:
        current = self._next
        if not current:
            raise BackupError(_("The encrypted archive is truncated."))
        self._next = self._source.read(self._block)
        last = not self._next
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        try:
            self._plain = self._aead.decrypt(nonce, current, self._header)
        except InvalidTag:
            raise BackupError(
                _("The encrypted archive is damaged or truncated (chunk %(number)s).")
                % {"number": self._counter + 1}
            ) from None
        self._counter += 1
        self._done = last

    def readinto(self, buffer: Any) -> int:
        while not self._plain and not self._done:
            self._decrypt_next()
        size = min(len(buffer), len(self._plain))
        buffer[:size] = self._plain[:size]
        self._plain = self._plain[size:]
        return size


def archive_is_encrypted(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(ENCRYPTION_MAGIC)) == ENCRYPTION_MAGIC


# --- Database snapshot ----------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _snapshot_facts(cursor: Any, tables: list[str]) -> dict[str, Any]:
    """Row counts, the migration state and the audit chain head, read through a DB-API cursor
    that sees exactly the dumped snapshot."""
    from medservice.core.models import AuditChainHead

    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 - names from the catalog
        counts[table] = cursor.fetchone()[0]
    migrations: dict[str, str] = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY applied, id")
        for app, name in cursor.fetchall():
            migrations[app] = name  # the last applied migration of each app
    head = None
    head_table = AuditChainHead._meta.db_table
    if head_table in counts:
        cursor.execute(
            f"SELECT last_index, last_hash FROM {_quote(head_table)} ORDER BY id"  # noqa: S608
        )
        row = cursor.fetchone()
        head = {"last_index": row[0], "last_hash": row[1]} if row else None
    return {"tables": counts, "migrations": migrations, "audit_chain_head": head}


def _sqlite_tables(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    )
    return [row[0] for row in cursor.fetchall()]


def _postgres_tables(cursor: Any) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
    return [row[0] for row in cursor.fetchall()]


def _sqlite_dump(alias: str, target: Path) -> dict[str, Any]:
    """SQLite's online backup API from a connection of our own into `target`; the facts are
    read from the copy, so they describe exactly what was copied."""
    name = str(connections[alias].settings_dict["NAME"])
    # A read-only URI (percent-encoded by as_uri, so any file name works).
    source = sqlite3.connect(Path(name).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        cursor = copy.cursor()
        facts = _snapshot_facts(cursor, _sqlite_tables(cursor))
        copy.commit()
    finally:
        copy.close()
        source.close()
    return facts


def postgres_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq environment for pg_dump / pg_restore: the password never appears in argv."""
    environment = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = settings_dict.get(key)
        if value not in (None, ""):
            environment[variable] = str(value)
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        environment["PGSSLMODE"] = str(sslmode)
    return environment


def _postgres_connect(settings_dict: dict[str, Any]) -> Any:
    import psycopg

    parameters = {
        "dbname": settings_dict.get("NAME"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
    }
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        parameters["sslmode"] = sslmode
    return psycopg.connect(**{key: value for key, value in parameters.items() if value})


def _run_tool(arguments: list[str], environment: dict[str, str]) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool, arguments from settings
            arguments, env=environment, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            _("%(tool)s was not found: install the PostgreSQL client tools.")
            % {"tool": arguments[0]}
        ) from None
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s")
            % {"tool": arguments[0], "error": result.stderr.strip()[-2000:]}
        )


def _postgres_dump(alias: str, target: Path) -> dict[str, Any]:
    """pg_dump -Fc in a snapshot exported by a REPEATABLE READ transaction, which also reads
    the facts: counts and chain head are those of the dump, whatever is written meanwhile."""
    import psycopg

    settings_dict = connections[alias].settings_dict
    with _postgres_connect(settings_dict) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = _snapshot_facts(cursor, _postgres_tables(cursor))
            _run_tool(
                ["pg_dump", "-Fc", "--no-password", f"--snapshot={snapshot}", "-f", str(target)],
                postgres_environment(settings_dict),
            )
        connection.rollback()
    return facts


# --- Files ----------------------------------------------------------------------------------


def storage_walk(storage: Storage, path: str = "") -> Iterator[str]:
    """Every file name in `storage`, depth first in name order (listdir works on S3 too)."""
    try:
        directories, files = storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files):
        yield f"{path}/{name}" if path else name
    for directory in sorted(directories):
        yield from storage_walk(storage, f"{path}/{directory}" if path else directory)


class _HashingReader:
    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- Backup ---------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    encrypted: bool

    @property
    def file_count(self) -> int:
        return len(self.manifest["files"])

    @property
    def row_count(self) -> int:
        return sum(self.manifest["tables"].values())


def app_version() -> str:
    try:
        return metadata.version("medservice")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def archive_name(created_at: datetime.datetime, *, encrypted: bool) -> str:
    stamp = created_at.astimezone(datetime.UTC).strftime(ARCHIVE_TIME_FORMAT)
    return f"{ARCHIVE_PREFIX}{stamp}.tar.gz" + (".enc" if encrypted else "")


def archive_time(name: str) -> datetime.datetime | None:
    """The creation time in a name `archive_name` gave, or None for any other file."""
    if not name.startswith(ARCHIVE_PREFIX):
        return None
    stem = name.removeprefix(ARCHIVE_PREFIX)
    for suffix in (".tar.gz.enc", ".tar.gz"):
        if stem.endswith(suffix):
            try:
                return datetime.datetime.strptime(
                    stem.removesuffix(suffix), ARCHIVE_TIME_FORMAT
                ).replace(tzinfo=datetime.UTC)
            except ValueError:
                return None
    return None


def backup_create(
    destination: Path,
    *,
    passphrase: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
    storage: Storage | None = None,
) -> BackupResult:
    """Write one archive. `destination` is a directory (the archive gets a dated name) or a
    file path. The archive appears under its final name only when complete."""
    storage = storage or default_storage
    vendor = connections[using].vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(
            _("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": vendor}
        )
    created_at = timezone.now()
    encrypted = passphrase is not None
    if destination.is_dir():
        destination = destination / archive_name(created_at, encrypted=encrypted)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="medservice-backup-") as work:
        dump = Path(work) / Path(DATABASE_MEMBERS[vendor]).name
        facts = _sqlite_dump(using, dump) if vendor == "sqlite" else _postgres_dump(using, dump)
        manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "app_version": app_version(),
            "created_at": created_at.isoformat(),
            "database": {
                "vendor": vendor,
                "member": DATABASE_MEMBERS[vendor],
                "sha256": file_sha256(dump),
                "size": dump.stat().st_size,
            },
            "migrations": facts["migrations"],
            "tables": facts["tables"],
            "audit_chain_head": facts["audit_chain_head"],
            "files": [],
        }
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(descriptor, "wb") as sink:
                writer: Any = EncryptingWriter(sink, passphrase) if encrypted else sink
                with tarfile.open(fileobj=writer, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
                    tar.add(dump, arcname=DATABASE_MEMBERS[vendor], recursive=False)
                    manifest["files"] = list(_add_storage_files(tar, storage))
                    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                    info = tarfile.TarInfo(MANIFEST_NAME)
                    info.size, info.mtime, info.mode = len(data), int(created_at.timestamp()), 0o600
                    tar.addfile(info, io.BytesIO(data))
                if encrypted:
                    writer.close()
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(partial, destination)
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(destination, manifest, encrypted)


def _add_storage_files(tar: tarfile.TarFile, storage: Storage) -> Iterator[dict[str, Any]]:
    for name in storage_walk(storage):
        try:
            size = storage.size(name)
            handle = storage.open(name, "rb")
        except FileNotFoundError:
            continue  # deleted since it was listed: it is not part of this backup
        with handle:
            reader = _HashingReader(handle)
            info = tarfile.TarInfo(FILES_PREFIX + name)
            info.size, info.mode = size, 0o600
            info.mtime = int(timezone.now().timestamp())
            tar.addfile(info, reader)
            if reader.size != size:  # pragma: no cover - tarfile raises first on a short read
                raise BackupError(
                    _("The file %(name)s changed while it was backed up.") % {"name": name}
                )
        yield {"name": name, "sha256": reader.digest.hexdigest(), "size": size}


# --- Restore --------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    tables_checked: int = 0
    rows_checked: int = 0
    files_restored: int = 0
    files_unchanged: int = 0
    audit_events_verified: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class UnpackedArchive:
    directory: Path
    manifest: dict[str, Any]

    @property
    def dump(self) -> Path:
        return self.directory / self.manifest["database"]["member"]

    def file_path(self, name: str) -> Path:
        return self.directory / (FILES_PREFIX + name)


def _open_archive_stream(path: Path, passphrase: str | None) -> tuple[BinaryIO, BinaryIO]:
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if handle.read(len(ENCRYPTION_MAGIC)) != ENCRYPTION_MAGIC:
        handle.seek(0)
        return handle, handle
    handle.seek(0)
    if passphrase is None:
        handle.close()
        raise BackupError(
            _("This archive is encrypted: set %(variable)s to its key.")
            % {"variable": KEY_ENVIRONMENT}
        )
    try:
        return handle, io.BufferedReader(DecryptingReader(handle, passphrase), COPY_CHUNK)
    except BackupError:
        handle.close()
        raise


def archive_unpack(
    path: Path, directory: Path, *, passphrase: str | None = None
) -> UnpackedArchive:
    """Decrypt and unpack `path` into `directory`, then check every checksum against the
    manifest; raises RestoreCheckError naming each file that does not match."""
    handle, stream = _open_archive_stream(path, passphrase)
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile() or not (
                    member.name == MANIFEST_NAME
                    or member.name in DATABASE_MEMBERS.values()
                    or member.name.startswith(FILES_PREFIX)
                ):
                    raise BackupError(
                        _("The archive holds an unexpected entry: %(name)s") % {"name": member.name}
                    )
                tar.extract(member, directory, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(
            _("The archive cannot be read (%(error)s).") % {"error": error}
        ) from error
    finally:
        handle.close()
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.exists():
        raise BackupError(_("The archive has no manifest.json: it is not a complete backup."))
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("Unsupported backup format %(format)s version %(version)s.")
            % {"format": manifest.get("format"), "version": manifest.get("format_version")}
        )
    unpacked = UnpackedArchive(directory, manifest)
    problems = archive_check(unpacked)
    if problems:
        raise RestoreCheckError(problems)
    return unpacked


def archive_check(unpacked: UnpackedArchive) -> list[str]:
    """Every checksum of the manifest against the unpacked files, and no file left over."""
    problems = []
    database = unpacked.manifest["database"]
    if not unpacked.dump.exists():
        problems.append(_("Database dump %(name)s: missing") % {"name": database["member"]})
    elif file_sha256(unpacked.dump) != database["sha256"]:
        problems.append(
            _("Database dump %(name)s: checksum mismatch") % {"name": database["member"]}
        )
    listed = set()
    for entry in unpacked.manifest["files"]:
        listed.add(entry["name"])
        path = unpacked.file_path(entry["name"])
        if not path.exists():
            problems.append(_("File %(name)s: missing from the archive") % {"name": entry["name"]})
        elif file_sha256(path) != entry["sha256"]:
            problems.append(_("File %(name)s: checksum mismatch") % {"name": entry["name"]})
    files_root = unpacked.directory / FILES_PREFIX
    if files_root.exists():
        for path in sorted(files_root.rglob("*")):
            name = path.relative_to(files_root).as_posix()
            if path.is_file() and name not in listed:
                problems.append(_("File %(name)s: not in the manifest") % {"name": name})
    return problems


def database_tables(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            return sorted(_sqlite_tables(cursor))
        return sorted(_postgres_tables(cursor))


def _storage_conflicts(unpacked: UnpackedArchive, storage: Storage) -> list[str]:
    conflicts = []
    for entry in unpacked.manifest["files"]:
        if (
            storage.exists(entry["name"])
            and _storage_sha256(storage, entry["name"]) != entry["sha256"]
        ):
            conflicts.append(entry["name"])
    return conflicts


def _storage_sha256(storage: Storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def restore_archive(
    path: Path,
    *,
    passphrase: str | None = None,
    force: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    storage: Storage | None = None,
    work_directory: Path | None = None,
    no_privileges: bool = False,
) -> RestoreReport:
    """Restore `path` into the database `using` and the storage; see the module docstring.
    Raises BackupError before anything is loaded, RestoreCheckError after a load that does
    not match the manifest (the report's problems)."""
    storage = storage or default_storage
    connection = connections[using]
    with tempfile.TemporaryDirectory(prefix="medservice-restore-", dir=work_directory) as work:
        unpacked = archive_unpack(path, Path(work), passphrase=passphrase)
        manifest = unpacked.manifest
        vendor = manifest["database"]["vendor"]
        if vendor != connection.vendor:
            raise BackupError(
                _("This is a %(archive)s backup; the target database is %(target)s.")
                % {"archive": vendor, "target": connection.vendor}
            )
        if not force:
            tables = database_tables(using)
            if tables:
                raise BackupError(
                    _(
                        "The target database is not empty (%(count)s tables, e.g. %(table)s). "
                        "Restore into a new, empty database, or pass --force to replace it."
                    )
                    % {"count": len(tables), "table": tables[0]}
                )
            conflicts = _storage_conflicts(unpacked, storage)
            if conflicts:
                raise BackupError(
                    _(
                        "The file storage already holds %(count)s different files of the "
                        "same names, e.g. %(name)s. Pass --force to overwrite them."
                    )
                    % {"count": len(conflicts), "name": conflicts[0]}
                )
        if vendor == "sqlite":
            _sqlite_load(using, unpacked.dump)
        else:
            _postgres_load(using, unpacked.dump, clean=force, no_privileges=no_privileges)
        report = RestoreReport(manifest)
        _restore_files(unpacked, storage, report)
    _check_restored(using, report)
    if not report.ok:
        raise RestoreCheckError(report.problems)
    return report


def _sqlite_load(using: str, dump: Path) -> None:
    connection = connections[using]
    connection.close()
    target = Path(str(connection.settings_dict["NAME"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(dump, staged)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def _postgres_load(using: str, dump: Path, *, clean: bool, no_privileges: bool) -> None:
    connection = connections[using]
    settings_dict = connection.settings_dict
    if clean:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    connection.close()
    arguments = [
        "pg_restore",
        "--no-password",
        "--no-owner",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={settings_dict['NAME']}",
    ]
    if no_privileges:
        arguments.append("--no-privileges")
    _run_tool([*arguments, str(dump)], postgres_environment(settings_dict))


def _restore_files(unpacked: UnpackedArchive, storage: Storage, report: RestoreReport) -> None:
    for entry in unpacked.manifest["files"]:
        name = entry["name"]
        if storage.exists(name):
            if _storage_sha256(storage, name) == entry["sha256"]:
                report.files_unchanged += 1
                continue
            storage.delete(name)
        with open(unpacked.file_path(name), "rb") as handle:
            saved = storage.save(name, File(handle, name=name))
        if saved != name:
            report.problems.append(
                _("File %(name)s: the storage saved it as %(saved)s")
                % {"name": name, "saved": saved}
            )
        elif _storage_sha256(storage, name) != entry["sha256"]:
            report.problems.append(
                _("File %(name)s: checksum mismatch after restore") % {"name": name}
            )
        else:
            report.files_restored += 1


def _check_restored(using: str, report: RestoreReport) -> None:
    """Row counts per table, the migration state and the audit chain, as the manifest says."""
    from medservice.core.audit import audit_verify_chain

    manifest = report.manifest
    connection = connections[using]
    with connection.cursor() as cursor:
        present = set(
            _sqlite_tables(cursor) if connection.vendor == "sqlite" else _postgres_tables(cursor)
        )
        for table, expected in sorted(manifest["tables"].items()):
            if table not in present:
                report.problems.append(_("Table %(table)s: missing") % {"table": table})
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608
            actual = cursor.fetchone()[0]
            report.tables_checked += 1
            report.rows_checked += actual
            if actual != expected:
                report.problems.append(
                    _("Table %(table)s: %(actual)s rows restored, the manifest says %(expected)s")
                    % {"table": table, "actual": actual, "expected": expected}
                )
        facts = _snapshot_facts(cursor, sorted(present))
    if facts["migrations"] != manifest["migrations"]:
        report.problems.append(_("The migration state differs from the manifest's."))
    chain = audit_verify_chain(using=using)
    report.audit_events_verified = chain.checked
    if not chain.ok:
        report.problems.append(
            _("Audit chain broken after %(count)s good links (event %(event)s): %(problem)s")
            % {
                "count": chain.checked,
                "event": chain.first_broken_event_id or "-",
                "problem": chain.problem,
            }
        )
    if facts["audit_chain_head"] != manifest["audit_chain_head"]:
        report.problems.append(_("The audit chain head differs from the manifest's."))


# --- Retention ------------------------------------------------------------------------------


def retention_keep(
    times: Iterable[datetime.datetime], *, daily: int, weekly: int, monthly: int
) -> set[datetime.datetime]:
    """Which archives to keep: the newest archive of each of the last `daily` days that have
    one, of each of the last `weekly` ISO weeks, and of each of the last `monthly` months.
    Days, weeks and months are those of the given date-times (pass local times)."""
    ordered = sorted(set(times), reverse=True)
    keep: set[datetime.datetime] = set()
    for count, period in (
        (daily, lambda moment: moment.date()),
        (weekly, lambda moment: moment.isocalendar()[:2]),
        (monthly, lambda moment: (moment.year, moment.month)),
    ):
        seen: set[Any] = set()
        for moment in ordered:
            if len(seen) >= count:
                break
            bucket = period(moment)
            if bucket not in seen:
                seen.add(bucket)
                keep.add(moment)
    return keep


def backup_directory_prune(directory: Path) -> list[Path]:
    """Delete the dated archives of `directory` that retention does not keep; returns them.
    Only files named as `backup_create` names them are considered."""
    archives = {}
    for path in directory.iterdir() if directory.exists() else ():
        moment = archive_time(path.name)
        if moment is not None and path.is_file():
            archives.setdefault(timezone.localtime(moment), []).append(path)
    keep = retention_keep(
        archives,
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
    )
    removed = []
    for moment, paths in sorted(archives.items()):
        if moment not in keep:
            for path in paths:
                path.unlink()
                removed.append(path)
    return removed


def backup_scheduled() -> BackupResult | None:
    """The `core.backup` job: one archive into BACKUP_DIR, then retention."""
    if not settings.BACKUP_SCHEDULE:
        return None
    directory = Path(settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    result = backup_create(directory, passphrase=backup_key_from_environment())
    backup_directory_prune(directory)
    return result
