from django.urls import path

from tutoring.questions import api

app_name = "questions"

urlpatterns = [
    path("questions", api.QuestionListCreateApi.as_view(), name="question-list"),
    path("questions/<int:question_id>", api.QuestionDetailApi.as_view(), name="question-detail"),
    path(
        "questions/<int:question_id>/attachments/<int:attachment_id>/<str:variant>",
        api.attachment_file,
        name="attachment-file",
    ),
]
