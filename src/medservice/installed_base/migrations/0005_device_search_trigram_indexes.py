"""Trigram indexes for searching units by part of a serial, batch, UDI-PI or asset number.

The device list's search (`?q=` in the UI, `?search=` in the API) is `icontains`, which Django
writes on PostgreSQL as `UPPER("col"::text) LIKE UPPER('%…%')`. A B-tree cannot serve a
pattern with a leading wildcard, so at 1,000,000 units each search scanned the whole table
(about 550 ms). A pg_trgm GIN index on exactly that expression serves it (a few ms).

PostgreSQL only: on SQLite (the embedded database) this migration does nothing. The indexes are
not declared in `Device.Meta` (a GinIndex there would have to exist on SQLite too); they live
only here. Built CONCURRENTLY (outside a transaction), so writes to the units are not blocked
while they build; an index left invalid by an interrupted build is built again. At 1,000,000
units the four take about 25 s to build and 36 MB.
Decision record: docs/decisions/0006-deep-pages-and-search.md.
"""

from django.db import migrations

TABLE = "installed_base_device"
COLUMNS = ["serial_number", "batch_number", "udi_pi", "asset_number"]


def index_name(column: str) -> str:
    return f"installed_base_device_{column}_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        name = index_name(column)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s",
                [name],
            )
            found = cursor.fetchone()
        if found and found[0]:
            continue
        if found:  # left invalid by an interrupted concurrent build
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY {quote(name)} ON {quote(TABLE)} "
            f"USING gin ((UPPER({quote(column)}::text)) gin_trgm_ops)"
        )
    # Statistics of the indexed expressions, for the planner (autovacuum would gather them only
    # after a tenth of the table has changed).
    schema_editor.execute(f"ANALYZE {quote(TABLE)}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(index_name(column))}"
        )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("installed_base", "0004_field_labels"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
