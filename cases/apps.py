from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self) -> None:
        from cases import cards, health, review, services
        from taskforce import auth, dashboard, notifications

        notifications.register(services.ACCESS_REQUESTED, services.render_access_requested)
        notifications.register(services.ACCESS_DECIDED, services.render_access_decided)
        notifications.register(services.FOLLOW_UP_DUE, services.render_follow_up_due)
        # Grants and releases that run out stop working within the hour, with nobody acting.
        notifications.register_scheduler(services.expire_due)
        dashboard.register(cards.case_cards)
        if services.has_any_case_access not in auth.MFA_REQUIRED_CHECKS:
            auth.MFA_REQUIRED_CHECKS.append(services.has_any_case_access)
        review.connect_meetings()
        health.register_providers()
