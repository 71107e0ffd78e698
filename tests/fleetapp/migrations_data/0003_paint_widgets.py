from django.db import migrations


def paint(apps, schema_editor):
    Widget = apps.get_model("fleetapp", "Widget")
    Widget.objects.using(schema_editor.connection.alias).filter(color__isnull=True).update(color="red")


class Migration(migrations.Migration):
    """A data migration: not replayable as SQL, so it goes through Django's executor."""

    dependencies = [("fleetapp", "0002_widget_color")]
    operations = [migrations.RunPython(paint, migrations.RunPython.noop)]
