from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.core.errors import ServiceError
from tutoring.core.http import stored_file_response
from tutoring.sessions import selectors, services
from tutoring.sessions.models import ChatAttachment, Recording, Role
from tutoring.sessions.serializers import (
    ChatAttachmentSerializer,
    QuestionCorrectionSerializer,
    RatingSerializer,
    RecordingSerializer,
)


class ChatAttachmentApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=None, responses={201: ChatAttachmentSerializer}, summary="A photo or voice clip for the chat"
    )
    def post(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise ServiceError("no_file", _("Choose a photo or a voice clip."), field="file")
        attachment = services.chat_attachment_add(session=session, user=request.user, file=upload)
        return Response(ChatAttachmentSerializer(attachment).data, status=201)


class RatingApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=RatingSerializer, responses=dict, summary="The student rates an ended session")
    def post(self, request: AuthenticatedRequest, session_id: int) -> Response:
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
    def patch(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        if session.teacher_id != request.user.pk:
            raise PermissionDenied()
        serializer = QuestionCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_question_correct(
            teacher=request.user, session_id=session.pk, **serializer.validated_data
        )
        return Response(selectors.session_library_question(session))


def _recording(request: HttpRequest, session_id: int) -> Recording:
    session = selectors.access_session(request.user, session_id)
    recording = Recording.objects.filter(session=session).first()
    if recording is None:
        raise Http404
    return recording


class RecordingApi(APIView):
    @extend_schema(responses=RecordingSerializer, summary="The session's video: its status and files")
    def get(self, request: AuthenticatedRequest, session_id: int) -> Response:
        return Response(RecordingSerializer(_recording(request, session_id)).data)


class RecordingApproveApi(APIView):
    @extend_schema(request=None, responses=RecordingSerializer, summary="The teacher publishes the recording")
    def post(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        if selectors.session_role(session, request.user) != Role.TEACHER:
            raise PermissionDenied()
        return Response(
            RecordingSerializer(services.recording_approve(teacher=request.user, session_id=session.pk)).data
        )


class EventsApi(APIView):
    @extend_schema(responses=dict, summary="The whole board and chat log, for the exact replay")
    def get(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = selectors.access_session(request.user, session_id)
        return Response(selectors.session_replay(session))


@extend_schema(exclude=True)
def recording_file(request: HttpRequest, session_id: int, variant: str) -> HttpResponseBase:
    """The rendered video (range requests) or its poster, to the session's participants and observers."""
    if variant not in ("video", "poster"):
        raise Http404
    file = getattr(_recording(request, session_id), variant)
    if not file:
        raise Http404
    return stored_file_response(request, file.name, "video/mp4" if variant == "video" else "image/jpeg")


@extend_schema(exclude=True)
def attachment_file(request: HttpRequest, session_id: int, attachment_id: int, variant: str) -> HttpResponseBase:
    """A chat photo (or its thumbnail) or voice clip, to the session's participants and observers."""
    session = selectors.access_session(request.user, session_id)
    attachment = ChatAttachment.objects.filter(pk=attachment_id, session=session).first()
    if attachment is None or variant not in ("processed", "thumbnail") or not getattr(attachment, variant):
        raise Http404
    photo = attachment.kind == ChatAttachment.Kind.PHOTO
    return stored_file_response(request, getattr(attachment, variant).name, "image/jpeg" if photo else "audio/mp4")
