from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.questions.selectors import access_question
from tutoring.questions.serializers import QuestionSerializer
from tutoring.routing import services


class StopWaitingApi(APIView):
    @extend_schema(request=None, responses=QuestionSerializer, summary="The student stops waiting for a teacher")
    def post(self, request: AuthenticatedRequest, question_id: int) -> Response:
        question = access_question(request.user, question_id, displayed=False)
        if question.student_id != request.user.pk:
            raise PermissionDenied()
        services.ticket_cancel(question=question)
        return Response(QuestionSerializer(access_question(request.user, question_id)).data)
