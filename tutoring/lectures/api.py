from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.core.errors import ServiceError
from tutoring.core.http import stored_file_response
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureRecording
from tutoring.lectures.serializers import (
    LectureQuestionPhotoSerializer,
    LectureSerializer,
    LectureSlidesSerializer,
    ReplayWatchedResultSerializer,
    ReplayWatchedSerializer,
)


def _lecture_data(lecture: Lecture, request: AuthenticatedRequest) -> dict:
    signed_up = selectors.lecture_signed_up_ids(student=request.user, lecture_ids=[lecture.pk])
    return LectureSerializer(lecture, context={"signed_up": signed_up}).data


class LectureListApi(APIView):
    @extend_schema(responses=LectureSerializer(many=True), summary="Live lectures and those to come, soonest first")
    def get(self, request: AuthenticatedRequest) -> Response:
        user = request.user
        if user.is_student:
            lectures = selectors.lecture_list_for_student(student=user)
        else:
            lectures = selectors.lecture_list_upcoming(user=user)
        signed_up = selectors.lecture_signed_up_ids(student=user, lecture_ids=[lecture.pk for lecture in lectures])
        return Response(LectureSerializer(lectures, many=True, context={"signed_up": signed_up}).data)


class LectureDetailApi(APIView):
    @extend_schema(responses=LectureSerializer, summary="One lecture")
    def get(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        return Response(_lecture_data(selectors.access_lecture(request.user, lecture_id), request))


class LectureSignupApi(APIView):
    @extend_schema(request=None, responses=LectureSerializer, summary="A student signs up for the lecture (预约)")
    def post(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        services.lecture_signup(lecture=lecture, student=request.user)
        return Response(_lecture_data(lecture, request))

    @extend_schema(request=None, responses=LectureSerializer, summary="The student withdraws the sign-up")
    def delete(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        services.lecture_signup_withdraw(lecture=lecture, student=request.user)
        return Response(_lecture_data(lecture, request))


class ReplayWatchedApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ReplayWatchedSerializer,
        responses=ReplayWatchedResultSerializer,
        summary="The stretches of the replay the user played (sent by the replay page as it plays)",
    )
    def post(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        serializer = ReplayWatchedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fact = services.lecture_replay_watched(
            lecture=lecture,
            user=request.user,
            viewing=data["viewing"],
            seq=data["seq"],
            intervals=[(start, end) for start, end in data["intervals"]],
        )
        return Response({"seconds": fact.data["seconds"]})


def lecture_slides_data(lecture: Lecture) -> dict:
    """The lecture's slides as ``LectureSlidesSerializer`` gives them (the studio's page embeds them too)."""
    deck = selectors.lecture_slide_deck(lecture)
    return LectureSlidesSerializer(
        {
            "status": deck.status if deck else None,
            "error": deck.error if deck else "",
            "slides": selectors.lecture_slide_list(lecture),
        }
    ).data


class LectureSlidesApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=LectureSlidesSerializer, summary="The lecture's slides, for its lecturer")
    def get(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        if not selectors.lecture_slides_editor(lecture, request.user):
            raise Http404
        return Response(lecture_slides_data(lecture))

    @extend_schema(
        request=None,
        responses={202: LectureSlidesSerializer},
        summary="Upload the lecture's slides (``files``: one PDF or pictures), replacing any before; rendered later",
    )
    def post(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        services.lecture_slides_upload(lecture=lecture, user=request.user, files=request.FILES.getlist("files"))
        return Response(lecture_slides_data(lecture), status=202)


@extend_schema(exclude=True)
def slide_file(request: HttpRequest, lecture_id: int, slide_id: int, variant: str) -> HttpResponseBase:
    """A slide's picture or thumbnail, to whoever may see the lecture."""
    slide = selectors.lecture_slide_get(selectors.access_lecture(request.user, lecture_id), slide_id)
    if variant not in ("image", "thumbnail"):
        raise Http404
    return stored_file_response(request, getattr(slide, variant).name, "image/jpeg")


class LectureQuestionPhotoApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=None,
        responses={201: LectureQuestionPhotoSerializer},
        summary="A student's photo (``photo``) to ask with in the live lecture: its id goes with ``question.ask``",
    )
    def post(self, request: AuthenticatedRequest, lecture_id: int) -> Response:
        lecture = selectors.access_lecture(request.user, lecture_id)
        upload = request.FILES.get("photo")
        if upload is None:
            raise ServiceError("no_file", _("Please choose a photo."), field="photo")
        photo = services.lecture_question_photo_add(lecture_id=lecture.pk, student=request.user, file=upload)
        return Response(LectureQuestionPhotoSerializer(photo).data, status=201)


@extend_schema(exclude=True)
def question_photo_file(request: HttpRequest, lecture_id: int, question_id: int, variant: str) -> HttpResponseBase:
    """The photo asked with a question, or its thumbnail, to whoever may see it (``lecture_question_photo_get``)."""
    if variant not in ("image", "thumbnail"):
        raise Http404
    lecture = selectors.access_lecture(request.user, lecture_id)
    photo = selectors.lecture_question_photo_get(lecture, request.user, question_id)
    return stored_file_response(request, getattr(photo, variant).name, "image/jpeg")


@extend_schema(exclude=True)
def recording_file(request: HttpRequest, lecture_id: int, variant: str) -> HttpResponseBase:
    """The replay's video (range requests) or its poster, to whoever may see the lecture."""
    lecture = selectors.access_lecture(request.user, lecture_id)
    recording = LectureRecording.objects.filter(lecture=lecture, status=LectureRecording.Status.PUBLISHED).first()
    if recording is None or variant not in ("video", "poster"):
        raise Http404
    return stored_file_response(
        request, getattr(recording, variant).name, "video/mp4" if variant == "video" else "image/jpeg"
    )
