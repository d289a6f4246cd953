from django.db import migrations, models


class Migration(migrations.Migration):
    """Failed-login counts live in the database, shared by every process (CONTRACT §12)."""

    dependencies = [
        ("durin", "0007_rewrite_authtoken_table"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginFailureCount",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("window_end", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
