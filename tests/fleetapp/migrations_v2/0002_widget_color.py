from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fleetapp", "0001_initial")]
    operations = [migrations.AddField("widget", "color", models.CharField(max_length=20, null=True))]
