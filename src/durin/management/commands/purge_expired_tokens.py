from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from durin.login_throttle import prune_login_failures
from durin.models import AuthToken, LoginFailureCount
from durin.services import purge_expired_tokens


class Command(BaseCommand):
    help = (
        "Deletes expired tokens, and failed-login counts whose window is over, in bounded "
        "batches (run it from cron)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows per DELETE.")
        parser.add_argument("--dry-run", action="store_true", help="Only count the expired tokens.")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        # Counted where they are deleted: a replica lags behind the primary.
        total = AuthToken.objects.on_primary().expired(now).count()
        if options["dry_run"]:
            counts = LoginFailureCount.objects.on_primary().filter(window_end__lte=now).count()
            self.stdout.write(f"{total} expired token(s) would be deleted (dry run).")
            if counts:
                self.stdout.write(f"{counts} old failed-login count(s) would be deleted (dry run).")
            return
        interactive = self.stdout.isatty()
        started = time.monotonic()

        def show(done: int) -> None:
            width = 30
            filled = width * done // total if total else width
            self.stdout.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending=""
            )
            self.stdout.flush()

        deleted = purge_expired_tokens(
            now=now, batch_size=batch_size, progress=show if interactive and total else None
        )
        if interactive and total:
            self.stdout.write("")
        pruned = prune_login_failures(now=now, batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted} expired token(s) in {time.monotonic() - started:.1f}s "
                f"(batches of {batch_size})."
            )
        )
        if pruned:
            self.stdout.write(f"Deleted {pruned} old failed-login count(s).")
