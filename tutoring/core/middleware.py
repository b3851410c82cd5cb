"""Requests that meet a Redis outage (cache, broker or channel layer unreachable): a retryable 503 in Chinese,
with ``Retry-After``, never a 500. What a request already committed stays committed; the client's retry is
idempotent and the sweeps redo what was only queued in Redis."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _

from tutoring.core.errors import OUTAGE_ERRORS, error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class OutageMiddleware(MiddlewareMixin):
    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.warning("request.outage", extra={"path": request.path, "error": repr(exception)})
        response: HttpResponse
        if request.path.startswith("/api/"):
            message = _("The service is briefly unavailable; please try again in a moment.")
            response = JsonResponse(error_body("unavailable", message), status=503)
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
