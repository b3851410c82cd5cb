from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "tutoring.schools"
    label = "schools"
