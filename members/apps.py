from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self) -> None:
        from members import cards, services
        from taskforce import dashboard, notifications

        notifications.register(services.INVITATION_REMINDER, services.render_invitation_reminder)
        notifications.register(services.GOAL_REVIEW_DUE, services.render_goal_review)
        notifications.register_scheduler(services.schedule_goal_reviews)
        dashboard.register(cards.member_cards)
