"""durin 2: per-client session rules, session metadata, and a digest column that
0005 fills from the 1.x plaintext column, which 0006 drops.

Every client that exists when this runs came from django-rest-durin 1.x, which kept
one token per user and client, shared by all of the user's devices. Such a client
gets ``session_limit = None`` (unlimited), so that a new login through it logs no
device out; clients created afterwards get the field's default of 1. The step is
here, where the column is born, rather than in a later migration: a database that
has already applied this one never runs it again, so clients made since are
never touched.
"""

import django.core.validators
import django.utils.timezone
from django.db import migrations, models

import durin.validators


def keep_1x_sessions_unlimited(apps, schema_editor):
    """1.x let every device of a user share one token: leave its clients without a limit."""
    Client = apps.get_model("durin", "Client")
    Client.objects.using(schema_editor.connection.alias).update(session_limit=None)


class Migration(migrations.Migration):
    dependencies = [
        ("durin", "0003_alter_client_token_ttl"),
    ]

    operations = [
        # Index first: on MySQL/MariaDB the unique constraint may be serving the user FK.
        migrations.AddIndex(
            model_name="authtoken",
            index=models.Index(fields=["user", "client"], name="durin_token_user_client"),
        ),
        migrations.RemoveConstraint(
            model_name="authtoken",
            name="unique token for user per client",
        ),
        migrations.AddField(
            model_name="authtoken",
            name="digest",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="authtoken",
            name="last_used",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="authtoken",
            name="ip_address",
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="authtoken",
            name="user_agent",
            field=models.CharField(blank=True, default="", max_length=256),
        ),
        migrations.AlterField(
            model_name="authtoken",
            name="created",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterField(
            model_name="authtoken",
            name="expiry",
            field=models.DateTimeField(db_index=True),
        ),
        migrations.AddField(
            model_name="client",
            name="session_limit",
            field=models.PositiveIntegerField(
                blank=True,
                default=1,
                help_text="Live tokens a user may hold for this client. Empty means unlimited.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
        migrations.RunPython(keep_1x_sessions_unlimited, migrations.RunPython.noop),
        migrations.AddField(
            model_name="client",
            name="session_limit_action",
            field=models.CharField(
                choices=[
                    ("revoke_oldest", "Revoke the oldest sessions to make room"),
                    ("refuse", "Refuse the new login"),
                ],
                default="revoke_oldest",
                help_text="What a login does when the user is at the session limit.",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="auto_refresh",
            field=models.BooleanField(
                default=False,
                help_text="Extend a token's expiry each time it is used (sliding expiry).",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="max_token_lifetime",
            field=models.DurationField(
                blank=True,
                help_text="Upper bound on a token's whole life, renewals included. Empty: none.",
                null=True,
                validators=[durin.validators.validate_positive_duration],
            ),
        ),
        migrations.AlterField(
            model_name="client",
            name="throttle_rate",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "Follows the same format as DRF's throttle rates: 'number_of_requests/period' "
                    "where period is one of s, m, h, d. Example: '100/h'."
                ),
                max_length=64,
                validators=[durin.validators.validate_throttle_rate],
                verbose_name="Throttle rate for requests authed with this client",
            ),
        ),
    ]
