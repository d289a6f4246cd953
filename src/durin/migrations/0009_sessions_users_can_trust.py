import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Rotation with reuse detection and recent authentication (CONTRACT §9).

    Existing tokens get no ``authenticated_at`` (nobody knows when their password was
    last checked) and existing clients do not rotate: nothing changes until a project
    opts in.
    """

    dependencies = [
        ("durin", "0008_login_failure_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="authtoken",
            name="authenticated_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="client",
            name="rotate_on_refresh",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Refresh issues a new token for the same session; a replaced token "
                    "presented after ROTATION_GRACE_PERIOD revokes the whole session (reuse "
                    "detection)."
                ),
            ),
        ),
        migrations.CreateModel(
            name="SupersededToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(editable=False, max_length=64, unique=True)),
                ("superseded_at", models.DateTimeField()),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="durin.authtoken",
                    ),
                ),
            ],
        ),
    ]
