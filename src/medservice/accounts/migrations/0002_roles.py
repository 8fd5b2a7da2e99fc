from django.db import migrations

ROLES = [
    "administrator", "service_manager", "service_agent", "field_engineer",
    "distributor_engineer", "quality_staff", "quality_manager", "warehouse_keeper",
    "finance", "store_staff", "auditor", "customer_user",
]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
