# Named as django-rest-durin's later 0003, which also changed only this default.

from django.db import migrations, models

import durin.validators


class Migration(migrations.Migration):
    dependencies = [
        ("durin", "0001_squashed_0002_client_throttlerate"),
    ]

    operations = [
        migrations.AlterField(
            model_name="client",
            name="token_ttl",
            field=models.DurationField(
                default=durin.validators.default_token_ttl,
                help_text="Token Time To Live (TTL) in timedelta. Format: <code>DAYS HH:MM:SS</code>.",
                validators=[durin.validators.validate_positive_duration],
                verbose_name="Token Time To Live (TTL)",
            ),
        ),
    ]
