from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fleetapp", "0001_initial")]
    operations = [migrations.RemoveField("widget", "name")]
