from django.apps import AppConfig


class MousConfig(AppConfig):
    name = "mous"
    verbose_name = "Agreements"

    def ready(self) -> None:
        from mous import cards, health, services
        from taskforce import dashboard

        services.register_notifications()
        dashboard.register(cards.mou_cards)
        health.register_providers()
