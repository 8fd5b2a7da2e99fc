"""Seed the default reporting rules (REGULATORY.md CN-AE-1..4, US-MDR-1..3, EU-V-1..3)."""

from django.db import migrations


def seed(apps, schema_editor):
    from medservice.quality.adverse_events import reporting_rules_seed

    reporting_rules_seed(apps)


class Migration(migrations.Migration):
    dependencies = [("quality", "0002_quality_workflows")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
