"""Run the notification schedulers and the sweep by hand: the embedded default has no beat."""

from django.core.management.base import BaseCommand

from taskforce import notifications


class Command(BaseCommand):
    help = "Create rows for recurring notifications, then send every notification that is due."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="rows per batch (default 500)")
        parser.add_argument("--skip-schedulers", action="store_true", help="only send what is already due")

    def handle(self, *args, limit: int, skip_schedulers: bool, **options) -> None:
        if not skip_schedulers:
            failed = notifications.run_schedulers()
            if failed:
                self.stderr.write(self.style.WARNING(f"{failed} scheduler(s) failed; see the log."))
        sent = notifications.sweep_all(limit=limit, budget_seconds=float("inf"))
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} notification{'' if sent == 1 else 's'}."))
