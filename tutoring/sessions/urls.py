from django.urls import path

from tutoring.sessions import api

app_name = "sessions"

urlpatterns = [
    path("sessions/<int:session_id>/attachments", api.ChatAttachmentApi.as_view(), name="attachments"),
    path(
        "sessions/<int:session_id>/attachments/<int:attachment_id>/<str:variant>",
        api.attachment_file,
        name="attachment-file",
    ),
    path("sessions/<int:session_id>/rating", api.RatingApi.as_view(), name="rating"),
    path("sessions/<int:session_id>/question", api.QuestionCorrectionApi.as_view(), name="question"),
    path("sessions/<int:session_id>/events", api.EventsApi.as_view(), name="events"),
    path("sessions/<int:session_id>/recording", api.RecordingApi.as_view(), name="recording"),
    path("sessions/<int:session_id>/recording/approve", api.RecordingApproveApi.as_view(), name="recording-approve"),
    path("sessions/<int:session_id>/recording/<str:variant>", api.recording_file, name="recording-file"),
]
