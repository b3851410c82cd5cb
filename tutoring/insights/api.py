"""The insights over HTTP: the figures of a filter with the previous period, a breakdown by one dimension, and
the breakdown as a CSV or XLSX file; all within the viewer's scope (``selectors.insights_scope``)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from tutoring.core.api import AuthenticatedRequest
from tutoring.core.errors import ServiceError, error_body
from tutoring.insights import clusters, engagement, exports, rollups, selectors

EXPORTS = {
    "csv": (exports.breakdown_csv, "text/csv; charset=utf-8"),
    "xlsx": (exports.breakdown_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def filters_data(filters: selectors.Filters) -> dict[str, object]:
    return {
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "district": filters.district.pk if filters.district else None,
        "school": filters.school.pk if filters.school else None,
        "subject": filters.subject.code if filters.subject else None,
        "grade": filters.grade,
        "point": filters.point.code if filters.point else None,
    }


class FiguresApi(APIView):
    @extend_schema(
        responses=None,
        summary="Every figure of a period (from, to), place (district, school), subject, grade and knowledge point, "
        "with the period before; ?by= breaks them down by day, district, school, subject, grade, point, hour or "
        "weekday",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        if settings.CELERY_TASK_ALWAYS_EAGER:  # no beat runs beside the embedded default's one process
            rollups.insights_refresh_due()
        filters = selectors.insights_filters(user=request.user, query=request.query_params)
        data: dict[str, object] = {"filters": filters_data(filters), **selectors.insights_figures(filters)}
        by = request.query_params.get("by")
        if by:
            data["breakdown"] = {"by": by, "rows": selectors.insights_breakdown(filters, by)}
        return Response(data)


def figures_export(request: HttpRequest, file_format: str) -> HttpResponse:
    """A breakdown (``?by=``, by day unless given) as a file, with the same filters and rules as the API."""
    try:
        filters = selectors.insights_filters(user=request.user, query=request.GET)
        if file_format not in EXPORTS:
            raise ServiceError("unknown_format", "csv / xlsx", status=404)
        by = request.GET.get("by") or "day"
        rows = selectors.insights_breakdown(filters, by)
    except ServiceError as error:
        return JsonResponse(error_body(error.code, error.message, error.field), status=error.status)
    export, content_type = EXPORTS[file_format]
    response = HttpResponse(export(by, rows), content_type=content_type)
    name = f"insights-{by}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


CLUSTER_EXPORTS = {
    "csv": (exports.clusters_csv, EXPORTS["csv"][1]),
    "xlsx": (exports.clusters_xlsx, EXPORTS["xlsx"][1]),
}


def clusters_export(request: HttpRequest, file_format: str) -> HttpResponse:
    """A week's hot clusters (the filters of the clusters page) as a file; 404 for anyone who may not read them."""
    try:
        filters = clusters.clusters_filters(user=request.user, query=request.GET)
        if file_format not in CLUSTER_EXPORTS:
            raise ServiceError("unknown_format", "csv / xlsx", status=404)
    except ServiceError as error:
        return JsonResponse(error_body(error.code, error.message, error.field), status=error.status)
    export, content_type = CLUSTER_EXPORTS[file_format]
    response = HttpResponse(export(list(clusters.clusters_of(filters))), content_type=content_type)
    week = f"{filters.week:%Y%m%d}" if filters.week else "none"
    response["Content-Disposition"] = f'attachment; filename="clusters-{week}.{file_format}"'
    return response


TABLE_EXPORTS = {
    "csv": (exports.table_csv, EXPORTS["csv"][1]),
    "xlsx": (exports.table_xlsx, EXPORTS["xlsx"][1]),
}


class EngagementApi(APIView):
    @extend_schema(
        responses=None,
        summary="One table of participation, satisfaction, comments, silent schools, lectures, duty coverage or "
        "next week's staffing, for the same filters as the figures; each column with its definition",
    )
    def get(self, request: AuthenticatedRequest, table: str) -> Response:
        if settings.CELERY_TASK_ALWAYS_EAGER:  # no beat runs beside the embedded default's one process
            rollups.insights_refresh_due()
        filters = selectors.insights_filters(user=request.user, query=request.query_params)
        data = engagement.engagement_table(filters, table).data()
        if table == "satisfaction":
            data["summary"] = engagement.satisfaction_summary(filters)
        return Response({"filters": filters_data(filters), **data})


def engagement_export(request: HttpRequest, table: str, file_format: str) -> HttpResponse:
    """One engagement table as a file, with the same filters and rules as the API and the page."""
    try:
        filters = selectors.insights_filters(user=request.user, query=request.GET)
        if file_format not in TABLE_EXPORTS:
            raise ServiceError("unknown_format", "csv / xlsx", status=404)
        built = engagement.engagement_table(filters, table)
    except ServiceError as error:
        return JsonResponse(error_body(error.code, error.message, error.field), status=error.status)
    export, content_type = TABLE_EXPORTS[file_format]
    response = HttpResponse(export(built.columns, built.rows), content_type=content_type)
    name = f"insights-{table}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
