import copy
from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tutoring.core.errors import ServiceError, error_body

if TYPE_CHECKING:
    from tutoring.accounts.models import User


class AuthenticatedRequest(Request):
    """The request of an API view behind ``IsAuthenticated``, the default permission: its user is signed in.

    Only an annotation for the type checker (django-stubs' recommended pattern): views still receive DRF's
    ``Request``."""

    user: "User"


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with its fields worked out from the model once per class, then copied for each
    instance. DRF works them out anew for every instance (1.5 ms of CPU for a question here), and every event and
    every snapshot a socket gets serialises at least one. So a subclass's fields must not depend on the instance
    or the context (none does: those that vary are method fields)."""

    _fields_built: ClassVar[dict[str, Any]]

    def get_fields(self) -> dict[str, Any]:
        built = type(self).__dict__.get("_fields_built")  # this class's own, never a parent's
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return copy.deepcopy(built)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error has one shape: ``{"error": {"code", "message", "field"}}``."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.field), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        field, details = next(iter(exc.detail.items()))
        detail = details[0] if isinstance(details, list) else details
        response.data = error_body(getattr(detail, "code", "invalid"), detail, field)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        response.data = error_body(code, exc.detail)
    return response
