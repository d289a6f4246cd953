from django.db import migrations


class Migration(migrations.Migration):
    """Placeholder; rewritten by the upgrade work of issue 8 (no plaintext left on disk)."""

    dependencies = [
        ("durin", "0006_remove_authtoken_token"),
    ]

    operations = []
