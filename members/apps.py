from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self) -> None:
        from members import cards, services
        from taskforce import dashboard, notifications

        notifications.register(services.INVITATION_REMINDER, services.render_invitation_reminder)
        dashboard.register(cards.member_cards)
