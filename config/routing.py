from django.urls import path

from tutoring.insights.consumers import LiveFiguresConsumer
from tutoring.lectures.consumers import LectureConsumer, LectureNoticeConsumer
from tutoring.questions.consumers import QuestionConsumer
from tutoring.routing.consumers import DutyConsumer
from tutoring.sessions.consumers import SessionConsumer

# django-stubs type path()'s second argument as a Django view; channels routes ASGI applications with it too.
websocket_urlpatterns = [
    path("ws/questions/<int:question_id>/", QuestionConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
    path("ws/duty/", DutyConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
    path("ws/sessions/<int:session_id>/", SessionConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
    path("ws/lectures/notices/", LectureNoticeConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
    path("ws/lectures/<int:lecture_id>/", LectureConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
    path("ws/insights/live/", LiveFiguresConsumer.as_asgi()),  # type: ignore[arg-type]  # an ASGI app, not a view
]
