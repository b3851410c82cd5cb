from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "tutoring.library"
    label = "library"
