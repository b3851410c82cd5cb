from django.apps import AppConfig


class QuestionsConfig(AppConfig):
    name = "tutoring.questions"
    label = "questions"
