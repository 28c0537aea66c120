"""Web sessions deleted while Redis was away, to delete from its cache once it answers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles_lecturers_and_office"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaleCachedSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cache_key", models.CharField(max_length=255, unique=True)),
                ("deleted_at", models.DateTimeField()),
            ],
        ),
    ]
