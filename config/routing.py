from django.urls import path

from tutoring.questions.consumers import QuestionConsumer
from tutoring.routing.consumers import DutyConsumer
from tutoring.sessions.consumers import SessionConsumer

websocket_urlpatterns = [
    path("ws/questions/<int:question_id>/", QuestionConsumer.as_asgi()),
    path("ws/duty/", DutyConsumer.as_asgi()),
    path("ws/sessions/<int:session_id>/", SessionConsumer.as_asgi()),
]
