from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tutoring.accounts"
    label = "accounts"
