from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"

    def ready(self) -> None:
        from meetings import cards, reminders, services
        from taskforce import agenda, dashboard, notifications, permissions

        # A meeting (and a series) is seen by whoever sees its task force; changing it needs an object grant.
        permissions.VISIBLE_THROUGH.setdefault("meetings.meeting", ("taskforce", "taskforce.view_taskforce"))
        permissions.VISIBLE_THROUGH.setdefault("meetings.series", ("taskforce", "taskforce.view_taskforce"))
        for kind, render in reminders.RENDERERS.items():
            notifications.register(kind, render)
        notifications.register_scheduler(services.schedule_upcoming_reminders)
        agenda.register(services.propose_to_next_meeting)
        dashboard.register(cards.meeting_cards)

        self._action_items()

    def _action_items(self) -> None:
        from meetings import actions, health
        from taskforce import notifications, permissions

        # An action item is seen by whoever sees its task force (restricted ones: see actions.visible_actions).
        permissions.VISIBLE_THROUGH.setdefault("meetings.actionitem", ("taskforce", "taskforce.view_taskforce"))
        for kind, render in actions.RENDERERS.items():
            notifications.register(kind, render)
        notifications.register_scheduler(actions.schedule_action_reminders)
        health.register_providers()
        health.register_meeting_providers()
