from django.db import migrations


def seed(apps, schema_editor):
    from exeml.tenancy.flavors import DEFAULT_FLAVORS

    Flavor = apps.get_model("tenancy", "Flavor")
    for spec in DEFAULT_FLAVORS:
        values = {k: (str(v) if k == "queue" else v) for k, v in spec.items() if k != "code"}
        Flavor.objects.update_or_create(code=spec["code"], defaults=values)


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
