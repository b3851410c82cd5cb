from django.urls import path

from tutoring.insights import api

app_name = "insights"

urlpatterns = [
    path("insights/figures", api.FiguresApi.as_view(), name="figures"),
    path("insights/export/<str:file_format>", api.figures_export, name="export"),
    path("insights/engagement/<str:table>", api.EngagementApi.as_view(), name="engagement"),
    path("insights/engagement/<str:table>/export/<str:file_format>", api.engagement_export, name="engagement-export"),
    path("insights/clusters/export/<str:file_format>", api.clusters_export, name="clusters-export"),
]
