from django.apps import AppConfig


class TaskforceConfig(AppConfig):
    name = "taskforce"
    verbose_name = "Taskforce core"

    def ready(self) -> None:
        from taskforce import (
            auth,  # noqa: F401  (connects the login audit receivers)
            health,
            notifications,
        )

        notifications.register_scheduler(health.record_snapshots)
