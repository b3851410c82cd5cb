from django.http import Http404, HttpRequest, HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.core.http import stored_file_response
from tutoring.questions import selectors, services
from tutoring.questions.models import Attachment
from tutoring.questions.serializers import QuestionCorrectSerializer, QuestionCreateSerializer, QuestionSerializer


class QuestionListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        responses={200: QuestionSerializer(many=True)},
        summary="The newest questions the user may see",
        description=(
            f"Newest first, at most {selectors.QUESTIONS_LISTED}: a student's own questions; a teacher's subjects "
            "and grade bands; teaching-research staff their city or district; administrators all. Exactly what the "
            "home page lists."
        ),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        questions = selectors.question_list_visible(user=request.user)
        return Response(QuestionSerializer(questions, many=True).data)

    @extend_schema(
        request={"multipart/form-data": QuestionCreateSerializer},
        responses={202: QuestionSerializer, 200: QuestionSerializer},
        summary="Ask a question by text, photos and/or a voice clip",
        description="202 with the new question; 200 with the first question when the idempotency key is replayed.",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        if not request.user.is_student:
            raise PermissionDenied()
        serializer = QuestionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        question, created = services.question_create(
            student=request.user,
            subject=data["subject"],
            grade=data["grade"],
            idempotency_key=data["idempotency_key"],
            text=data.get("text", ""),
            photos=data.get("photos", []),
            voice=data.get("voice"),
        )
        return Response(
            QuestionSerializer(question).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )


class QuestionDetailApi(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(responses=QuestionSerializer, summary="A question and its understanding status")
    def get(self, request: AuthenticatedRequest, question_id: int) -> Response:
        question = selectors.access_question(request.user, question_id)
        return Response(QuestionSerializer(question).data)

    @extend_schema(
        request=QuestionCorrectSerializer, responses=QuestionSerializer, summary="The student corrects the text"
    )
    def patch(self, request: AuthenticatedRequest, question_id: int) -> Response:
        question = selectors.access_question(request.user, question_id)
        if question.student_id != request.user.pk:
            raise PermissionDenied()
        serializer = QuestionCorrectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        question = services.question_text_correct(question=question, text=serializer.validated_data["text"])
        return Response(QuestionSerializer(question).data)


@extend_schema(exclude=True)
def attachment_file(request: HttpRequest, question_id: int, attachment_id: int, variant: str) -> HttpResponseBase:
    """A processed photo, thumbnail or voice clip, to those who may see the question."""
    if not request.user.is_authenticated:
        raise Http404
    question = selectors.access_question(request.user, question_id)
    attachment = question.attachments.filter(pk=attachment_id).first()
    file = getattr(attachment, variant, None) if variant in ("processed", "thumbnail") else None
    if not file or attachment is None:
        raise Http404
    is_image = variant == "thumbnail" or attachment.kind == Attachment.Kind.PHOTO
    return stored_file_response(request, file.name, "image/jpeg" if is_image else "audio/mp4")
