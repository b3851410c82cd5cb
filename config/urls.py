from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tutoring.core.views import health

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tutoring.questions.urls")),
    path("api/v1/", include("tutoring.library.urls")),
    path("api/v1/", include("tutoring.routing.urls")),
    path("api/v1/", include("tutoring.sessions.urls")),
    path("api/v1/", include("tutoring.lectures.urls")),
    path("api/v1/", include("tutoring.stipends.urls")),
    path("api/v1/", include("tutoring.insights.urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("frontend.urls")),
]
