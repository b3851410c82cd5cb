from django.urls import path

from tutoring.lectures import api

app_name = "lectures"

urlpatterns = [
    path("lectures", api.LectureListApi.as_view(), name="lecture-list"),
    path("lectures/<int:lecture_id>", api.LectureDetailApi.as_view(), name="lecture-detail"),
    path("lectures/<int:lecture_id>/signup", api.LectureSignupApi.as_view(), name="signup"),
    path("lectures/<int:lecture_id>/replay/watched", api.ReplayWatchedApi.as_view(), name="replay-watched"),
    path("lectures/<int:lecture_id>/slides", api.LectureSlidesApi.as_view(), name="slides"),
    path("lectures/<int:lecture_id>/slides/<int:slide_id>/<str:variant>", api.slide_file, name="slide-file"),
    path("lectures/<int:lecture_id>/recording/<str:variant>", api.recording_file, name="recording-file"),
    path("lectures/<int:lecture_id>/questions/photos", api.LectureQuestionPhotoApi.as_view(), name="question-photos"),
    path(
        "lectures/<int:lecture_id>/questions/<int:question_id>/photo/<str:variant>",
        api.question_photo_file,
        name="question-photo",
    ),
]
