from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0004_job_requester_exclusive_retired'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='tenant',
            options={'ordering': ['slug'], 'permissions': [('suspend_tenant', 'Can suspend a tenant'), ('resume_tenant', 'Can resume a tenant'), ('move_tenant', 'Can move a tenant to another server')]},
        ),
    ]
