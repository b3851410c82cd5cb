from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StipendsConfig(AppConfig):
    name = "tutoring.stipends"
    label = "stipends"
    verbose_name = _("workload and stipends")
