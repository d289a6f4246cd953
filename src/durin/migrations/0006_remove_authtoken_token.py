from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("durin", "0005_hash_plaintext_tokens"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="authtoken",
            name="token",
        ),
        migrations.AlterField(
            model_name="authtoken",
            name="digest",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
    ]
