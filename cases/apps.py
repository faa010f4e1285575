from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from cases import cards, forms, health, review, services
        from members.models import Agency, Membership
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
        # The case filters' cached agency dropdown follows the task force's agencies (cases.forms).
        post_save.connect(forms.membership_changed, sender=Membership, dispatch_uid="cases-agency-options-m")
        post_delete.connect(forms.membership_changed, sender=Membership, dispatch_uid="cases-agency-options-md")
        post_save.connect(forms.agency_changed, sender=Agency, dispatch_uid="cases-agency-options-a")
