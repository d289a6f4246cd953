from django.db import migrations, models


class Migration(migrations.Migration):
    """Marks an API key that a roll replaced (CONTRACT §10): it lives out its grace and is
    never extended, nor rolled again. Existing tokens were never rolled (null)."""

    dependencies = [
        ("durin", "0010_api_keys_and_scopes"),
    ]

    operations = [
        migrations.AddField(
            model_name="authtoken",
            name="rolled_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
