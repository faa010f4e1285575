from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self) -> None:
        from members import cards, services
        from taskforce import dashboard, notifications

        # Someone re-invited after offboarding stays inactive until they accept: remind them anyway.
        notifications.register(services.INVITATION_REMINDER, services.render_invitation_reminder, to_inactive=True)
        notifications.register(services.GOAL_REVIEW_DUE, services.render_goal_review)
        notifications.register_scheduler(services.schedule_goal_reviews)
        dashboard.register(cards.member_cards)
        from members import comms, health

        notifications.register(comms.ANNOUNCEMENT_EMAIL, comms.render_announcement_email)
        health.register_providers()
        dashboard.register(comms.announcement_cards)
