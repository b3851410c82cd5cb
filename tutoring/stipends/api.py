"""The stipends' way to publication over HTTP: a school month's figures for its reviewers, and each step
(``services``) for those it allows; a teacher's objection to their own statement."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.schools.models import School
from tutoring.stipends import exports, selectors, services
from tutoring.stipends.models import SchoolMonth


class AdjustmentSerializer(serializers.Serializer):
    teacher = serializers.IntegerField()
    amount_fen = serializers.IntegerField(min_value=-10_000_000, max_value=10_000_000)
    credit = serializers.IntegerField(min_value=-10_000, max_value=10_000, default=0)
    reason = serializers.CharField(max_length=500)


class PublicitySerializer(serializers.Serializer):
    days = serializers.IntegerField()


class TextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)


def school_month_data(school_month: SchoolMonth) -> dict[str, Any]:
    """What the review page shows of a school month."""
    return {
        "id": school_month.pk,
        "school": str(school_month.school),
        "month": school_month.month.isoformat(),
        "status": school_month.status,
        "status_label": school_month.get_status_display(),
        "publicity_ends_at": school_month.publicity_ends_at,
        "published_hash": school_month.published_hash,
        "reported_hash": school_month.reported_hash,
        "statements": [
            {**row, "class_hours": str(row["class_hours"])} for row in selectors.school_month_rows(school_month)
        ],
        "adjustments": [
            {
                "id": adjustment.pk,
                "teacher": str(adjustment.teacher),
                "amount_fen": adjustment.amount_fen,
                "credit": adjustment.credit,
                "reason": adjustment.reason,
                "author": str(adjustment.author) if adjustment.author else "",
            }
            for adjustment in selectors.school_month_adjustments(school_month)
        ],
        "objections": [
            {
                "id": objection.pk,
                "teacher": str(objection.teacher),
                "reason": objection.reason,
                "answer": objection.answer,
            }
            for objection in school_month.objections.select_related("teacher")
        ],
    }


class SchoolMonthApi(APIView):
    @extend_schema(responses=None, summary="A school month's statements, adjustments and objections, for reviewers")
    def get(self, request: AuthenticatedRequest, school_month_id: int) -> Response:
        return Response(school_month_data(selectors.school_month_access(request.user, school_month_id)))


class SchoolMonthStepApi(APIView):
    """One step of the way: ``review``, ``publicity`` (``days``), ``reopen``, ``approve`` or ``report``."""

    parser_classes = [JSONParser]

    @extend_schema(request=None, responses=None, summary="Take a school month one step on its way")
    def post(self, request: AuthenticatedRequest, school_month_id: int, step: str) -> Response:
        user = request.user
        selectors.school_month_access(user, school_month_id)  # 404 for anyone but its reviewers
        if step == "approve":
            services.approve(school_month_id=school_month_id, user=user)
        elif step == "review":
            services.review_start(school_month_id=school_month_id, user=user)
        elif step == "publicity":
            data = PublicitySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.publicity_start(school_month_id=school_month_id, days=data.validated_data["days"], user=user)
        elif step == "reopen":
            services.review_reopen(school_month_id=school_month_id, user=user)
        elif step == "report":
            services.report(school_month_id=school_month_id, user=user)
        else:
            return Response(status=404)
        return Response(school_month_data(selectors.school_month_access(user, school_month_id)))


class AdjustmentApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=AdjustmentSerializer, responses=None, summary="A reviewer's correction of a teacher's month")
    def post(self, request: AuthenticatedRequest, school_month_id: int) -> Response:
        selectors.school_month_access(request.user, school_month_id)
        data = AdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.adjustment_add(
            school_month_id=school_month_id,
            teacher_id=data.validated_data["teacher"],
            amount_fen=data.validated_data["amount_fen"],
            credit=data.validated_data["credit"],
            reason=data.validated_data["reason"],
            user=request.user,
        )
        return Response(school_month_data(selectors.school_month_access(request.user, school_month_id)), status=201)


class ObjectionApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=TextSerializer, responses=None, summary="A teacher objects to their statement (公示)")
    def post(self, request: AuthenticatedRequest, school_month_id: int) -> Response:
        data = TextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objection = services.objection_raise(
            school_month_id=school_month_id, teacher=request.user, reason=data.validated_data["text"]
        )
        return Response({"id": objection.pk, "reason": objection.reason}, status=201)


class ObjectionAnswerApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=TextSerializer, responses=None, summary="A reviewer answers a teacher's objection")
    def post(self, request: AuthenticatedRequest, objection_id: int) -> Response:
        data = TextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objection = services.objection_answer(
            objection_id=objection_id, answer=data.validated_data["text"], user=request.user
        )
        return Response(school_month_data(selectors.school_month_access(request.user, objection.school_month_id)))


@extend_schema(exclude=True)
def school_month_export(request: HttpRequest, school_month_id: int, file_format: str) -> HttpResponse:
    """A school month's spreadsheet (``xlsx``, ``csv``) or its 公示 notice (``pdf``), to whoever may have it
    (``selectors.school_month_exportable``); ``?term`` with ``pdf``: the notice of the term so far."""
    if not request.user.is_authenticated or file_format not in exports.SCHOOL_EXPORTS:
        raise Http404
    school_month = selectors.school_month_exportable(request.user, school_month_id, file_format)
    export, content_type, extension = exports.SCHOOL_EXPORTS[file_format]
    school, month = school_month.school, school_month.month
    if file_format == "pdf" and "term" in request.GET:
        months = [each for each in selectors.term_months(month) if each <= month]
        stated = selectors.stated_months(School.objects.filter(pk=school.pk))
        content = exports.school_term_notice_pdf(school, [each for each in months if each in stated])
        name = f"{school.pk}-{month:%Y-%m}-term.{extension}"
    else:
        content = export(school, month)
        name = f"{school.pk}-{month:%Y-%m}.{extension}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="stipends-{name}"'
    return response
