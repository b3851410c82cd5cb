from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "tutoring.routing"
    label = "routing"
