from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.http import stored_file_response
from tutoring.sessions import selectors, services
from tutoring.sessions.models import Recording, Role
from tutoring.sessions.serializers import QuestionCorrectionSerializer, RatingSerializer, RecordingSerializer


class RatingApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=RatingSerializer, responses=dict, summary="The student rates an ended session")
    def post(self, request: Request, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        if session.student_id != request.user.pk:
            raise PermissionDenied()
        serializer = RatingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_rate(student=request.user, session_id=session.pk, **serializer.validated_data)
        return Response({"score": session.rating, "comment": session.rating_comment})


class QuestionCorrectionApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=QuestionCorrectionSerializer,
        responses=dict,
        summary="The teacher corrects the question for the library",
    )
    def patch(self, request: Request, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        if session.teacher_id != request.user.pk:
            raise PermissionDenied()
        serializer = QuestionCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_question_correct(
            teacher=request.user, session_id=session.pk, **serializer.validated_data
        )
        return Response(
            {
                "text": session.library_text or session.question.text,
                "subject": (session.library_subject or session.question.subject).code,
                "grade": session.library_grade or session.question.grade,
                "knowledge_points": session.knowledge_points,
            }
        )


def _recording(request: HttpRequest, session_id: int) -> Recording:
    session = selectors.access_session(request.user, session_id)
    recording = Recording.objects.filter(session=session).first()
    if recording is None:
        raise Http404
    return recording


class RecordingApi(APIView):
    @extend_schema(responses=RecordingSerializer, summary="The session's video: its status and files")
    def get(self, request: Request, session_id: int) -> Response:
        return Response(RecordingSerializer(_recording(request, session_id)).data)


class RecordingApproveApi(APIView):
    @extend_schema(request=None, responses=RecordingSerializer, summary="The teacher publishes the recording")
    def post(self, request: Request, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        if selectors.session_role(session, request.user) != Role.TEACHER:
            raise PermissionDenied()
        return Response(
            RecordingSerializer(services.recording_approve(teacher=request.user, session_id=session.pk)).data
        )


class EventsApi(APIView):
    @extend_schema(responses=dict, summary="The whole board and chat log, for the exact replay")
    def get(self, request: Request, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        log = selectors.session_events(session.pk)
        end = session.ended_at or session.started_at
        duration_ms = max([round((end - session.started_at).total_seconds() * 1000), *(e["at"] for e in log)])
        return Response({"duration_ms": duration_ms, "events": log})


@extend_schema(exclude=True)
def recording_file(request: HttpRequest, session_id: int, variant: str) -> HttpResponseBase:
    """The rendered video (range requests) or its poster, to the session's participants and observers."""
    if variant not in ("video", "poster"):
        raise Http404
    file = getattr(_recording(request, session_id), variant)
    if not file:
        raise Http404
    return stored_file_response(request, file.name, "video/mp4" if variant == "video" else "image/jpeg")
