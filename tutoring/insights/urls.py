from django.urls import path

from tutoring.insights import api

app_name = "insights"

urlpatterns = [
    path("insights/figures", api.FiguresApi.as_view(), name="figures"),
    path("insights/export/<str:file_format>", api.figures_export, name="export"),
]
