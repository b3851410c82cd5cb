from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tutoring.core"
    label = "core"
