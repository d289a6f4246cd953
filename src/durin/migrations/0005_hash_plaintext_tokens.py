# Turns every stored 1.x plaintext token into its SHA-256 digest, so that every
# token issued before the upgrade keeps working, and scrubs the plaintext that
# 1.x's admin wrote into its log. Irreversible: a digest cannot be undone.

import hashlib

from django.db import migrations

BATCH = 2000


def hash_tokens(apps, schema_editor):
    AuthToken = apps.get_model("durin", "AuthToken")
    db = schema_editor.connection.alias
    pending = AuthToken.objects.using(db).filter(digest__isnull=True).order_by("pk")
    last_pk = 0
    while True:
        batch = list(pending.filter(pk__gt=last_pk).only("pk", "token")[:BATCH])
        if not batch:
            break
        for row in batch:
            row.digest = hashlib.sha256(row.token.encode("utf-8")).hexdigest()
        AuthToken.objects.using(db).bulk_update(batch, ["digest"])
        last_pk = batch[-1].pk


def scrub_admin_log(apps, schema_editor):
    """1.x's admin logged each token under its plaintext (``str(token)``)."""
    connection = schema_editor.connection
    try:
        LogEntry = apps.get_model("admin", "LogEntry")
        ContentType = apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return
    tables = connection.introspection.table_names()
    if LogEntry._meta.db_table not in tables or ContentType._meta.db_table not in tables:
        return
    db = connection.alias
    content_types = ContentType.objects.using(db).filter(app_label="durin", model="authtoken")
    for entry in (
        LogEntry.objects.using(db).filter(content_type__in=content_types).only("pk", "object_id")
    ):
        LogEntry.objects.using(db).filter(pk=entry.pk).update(
            object_repr=f"AuthToken #{entry.object_id}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("durin", "0004_client_sessions_authtoken_digest"),
    ]

    operations = [
        migrations.RunPython(hash_tokens),
        migrations.RunPython(scrub_admin_log),
    ]
