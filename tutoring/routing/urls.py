from django.urls import path

from tutoring.routing import api

app_name = "routing"

urlpatterns = [
    path("questions/<int:question_id>/stop-waiting", api.StopWaitingApi.as_view(), name="stop-waiting"),
]
