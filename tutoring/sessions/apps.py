from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "tutoring.sessions"
    label = "tutoring_sessions"  # "sessions" is django.contrib.sessions
    verbose_name = "答疑"
