"""Seed the evaluation-result rules (REGULATORY.md CN-AE-5: the final report 30 / 45 days after
a death / serious-injury report); the rules already there are left alone."""

from django.db import migrations


def seed(apps, schema_editor):
    from medservice.quality.adverse_events import reporting_rules_seed

    reporting_rules_seed(apps)


class Migration(migrations.Migration):
    dependencies = [("quality", "0005_ae_gaps")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
