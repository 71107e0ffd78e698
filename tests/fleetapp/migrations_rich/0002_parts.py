import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Columns with defaults, a new table with a foreign key, an index and a check constraint."""

    dependencies = [("fleetapp", "0001_initial")]
    operations = [
        migrations.AddField("widget", "size", models.IntegerField(default=0)),
        migrations.AddField("widget", "color", models.CharField(max_length=20, default="blue")),
        migrations.CreateModel("Part", [
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
            ("label", models.CharField(max_length=30, unique=True)),
            ("widget", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="fleetapp.widget")),
        ]),
        migrations.AddIndex("widget", models.Index(fields=["name", "size"], name="widget_name_size_idx")),
        migrations.AddConstraint("widget", models.CheckConstraint(condition=models.Q(size__gte=0),
                                                                  name="widget_size_gte_0")),
    ]
