from django.urls import path

from tutoring.library import api

app_name = "library"

urlpatterns = [
    path("library/entries", api.EntryListCreateApi.as_view(), name="entry-list"),
    path("library/entries/<int:entry_id>", api.EntryDetailApi.as_view(), name="entry-detail"),
    path("library/answers/<int:answer_id>/<str:variant>", api.answer_file, name="answer-file"),
    path("matches", api.MatchApi.as_view(), name="match"),
    path("questions/<int:question_id>/feedback", api.QuestionFeedbackApi.as_view(), name="question-feedback"),
]
