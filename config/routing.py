from django.urls import path

from tutoring.questions.consumers import QuestionConsumer

websocket_urlpatterns = [
    path("ws/questions/<int:question_id>/", QuestionConsumer.as_asgi()),
]
