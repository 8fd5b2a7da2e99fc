"""On PostgreSQL, the (part, location) balance index also carries condition and quantity, so a
part's stock across every location is read from the index alone (bench/inventory.py: p95 from
15 ms to 2 ms at 3.9 million balance rows). SQLite keeps the plain index Django made; the name
is the same, so later migrations see one index either way."""

from django.db import migrations


def covering_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS stock_balance_part_location")
    schema_editor.execute(
        "CREATE INDEX stock_balance_part_location ON inventory_stockbalance "
        "(part_id, location_id) INCLUDE (condition, quantity)"
    )


def plain_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS stock_balance_part_location")
    schema_editor.execute(
        "CREATE INDEX stock_balance_part_location ON inventory_stockbalance (part_id, location_id)"
    )


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(covering_index, plain_index)]
