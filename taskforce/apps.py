from django.apps import AppConfig


class TaskforceConfig(AppConfig):
    name = "taskforce"
    verbose_name = "Taskforce core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from taskforce import (
            auth,  # noqa: F401  (connects the login audit receivers)
            freshness,
            health,
            notifications,
        )

        connection_created.connect(freshness.install, dispatch_uid="taskforce.freshness.install")

        notifications.register_scheduler(health.record_snapshots)
