from django.db import migrations, models


class Migration(migrations.Migration):
    """Scopes, names and hints for API keys (CONTRACT §10). Existing tokens stay
    unrestricted (``scopes`` null), unnamed and without a hint: their plaintext is gone.
    """

    dependencies = [
        ("durin", "0009_sessions_users_can_trust"),
    ]

    operations = [
        migrations.AddField(
            model_name="authtoken",
            name="hint",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name="authtoken",
            name="name",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="authtoken",
            name="scopes",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
