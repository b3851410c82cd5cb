from adrf.views import APIView as AsyncAPIView
from django.http import Http404, HttpRequest, HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.core.consumers import database_call
from tutoring.core.http import stored_file_response
from tutoring.library import selectors, services
from tutoring.library.serializers import (
    EntryCreateSerializer,
    EntrySerializer,
    FeedbackSerializer,
    MatchQuerySerializer,
)
from tutoring.questions.selectors import access_question
from tutoring.questions.serializers import QuestionSerializer


class EntryListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("subject", str, description="Subject code (math) or name (数学)."),
            OpenApiParameter("grade", int),
        ],
        responses=EntrySerializer(many=True),
        summary="Answered questions in the library",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        if request.user.is_student:
            raise PermissionDenied()
        grade = request.query_params.get("grade")
        entries = selectors.entry_list(
            subject=request.query_params.get("subject"), grade=int(grade) if grade and grade.isdigit() else None
        )
        return Response(EntrySerializer(entries, many=True).data)

    @extend_schema(
        request={"multipart/form-data": EntryCreateSerializer},
        responses={201: EntrySerializer, 200: EntrySerializer},
        summary="Add an answered question (video and/or worked solution); same external_id updates",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        if not selectors.library_editor(request.user):
            raise PermissionDenied()
        serializer = EntryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry, created = services.entry_save(
            text=data["text"],
            subject=data["subject"],
            grade=data["grade"],
            knowledge_points=data.get("knowledge_points", []),
            solution=data.get("solution", ""),
            video=data.get("video"),
            photo=data.get("photo"),
            external_id=data.get("external_id"),
            created_by=request.user,
        )
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class EntryDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Withdraw an answered question from the library")
    def delete(self, request: AuthenticatedRequest, entry_id: int) -> Response:
        services.entry_withdraw(entry=selectors.access_entry_for_change(request.user, entry_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class QuestionFeedbackApi(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=FeedbackSerializer, responses=QuestionSerializer, summary="解决了 / 还是不会")
    def post(self, request: AuthenticatedRequest, question_id: int) -> Response:
        question = access_question(request.user, question_id, displayed=False)
        if question.student_id != request.user.pk:
            raise PermissionDenied()
        serializer = FeedbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shown = services.question_feedback(
            question=question,
            choice=serializer.validated_data["choice"],
            match_id=serializer.validated_data.get("match_id"),
        )
        return Response(QuestionSerializer(shown).data)


class MatchApi(AsyncAPIView):
    """Asynchronous: the search runs in a matching worker and the request waits for it on the event loop."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=MatchQuerySerializer, responses=dict, summary="Match a text against the library (operators)")
    async def post(self, request: AuthenticatedRequest) -> Response:
        if request.user.is_student:
            raise PermissionDenied()
        serializer = MatchQuerySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        await database_call(services.library_search_check)(
            text=data["text"], subject=data["subject"], grade=data["grade"]
        )
        return Response(
            await services.library_search_through_worker(
                text=data["text"], subject=data["subject"], grade=data["grade"]
            )
        )


@extend_schema(exclude=True)
def answer_file(request: HttpRequest, answer_id: int, variant: str) -> HttpResponseBase:
    """An answer video (range requests, so phones can seek) or its poster, to signed-in users."""
    if variant not in ("video", "poster"):
        raise Http404
    answer = selectors.access_answer(request.user, answer_id)
    file = getattr(answer, variant)
    if not file:
        raise Http404
    return stored_file_response(request, file.name, "video/mp4" if variant == "video" else "image/jpeg")
