# The schema of django-rest-durin 1.1.0 (its 0001_initial + 0002_client_throttlerate),
# declared as a replacement so that databases upgraded from 1.x line up.

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import durin.validators


class Migration(migrations.Migration):
    replaces = [("durin", "0001_initial"), ("durin", "0002_client_throttlerate")]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Client",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        db_index=True,
                        help_text="A unique identification name for the client.",
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "token_ttl",
                    models.DurationField(
                        default=datetime.timedelta(days=1),
                        verbose_name="Token Time To Live (TTL)",
                    ),
                ),
                (
                    "throttle_rate",
                    models.CharField(
                        blank=True,
                        default="",
                        max_length=64,
                        validators=[durin.validators.validate_throttle_rate],
                        verbose_name="Throttle rate for requests authed with this client",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="AuthToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.CharField(db_index=True, max_length=64, unique=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("expiry", models.DateTimeField()),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="auth_token_set",
                        to="durin.client",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="auth_token_set",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="authtoken",
            constraint=models.UniqueConstraint(
                fields=("user", "client"), name="unique token for user per client"
            ),
        ),
    ]
