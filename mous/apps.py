from django.apps import AppConfig


class MousConfig(AppConfig):
    name = "mous"
