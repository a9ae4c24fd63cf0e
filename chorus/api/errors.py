"""One error envelope for every API error:

{"error": {"code": "invalid", "message": "…", "fields": [{"in": "body", "path": "slug", "message": "…"}]}}
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chorus.errors import ServiceError


def envelope(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or []}}, status=status
    )


def _validation_fields(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        source = loc[0] if loc else "body"
        # ninja puts the operation's parameter name second for bodies; callers never see it.
        rest = loc[2:] if source == "body" and len(loc) > 1 else loc[1:]
        fields.append(
            {"in": source, "path": ".".join(rest), "message": str(error.get("msg", "invalid"))}
        )
    return fields


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        fields = [
            {"in": "body", "path": key, "message": value} for key, value in exc.fields.items()
        ]
        return envelope(exc.status, exc.code, exc.message, fields)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return envelope(
            422, "invalid", "The request is not valid.", _validation_fields(list(exc.errors))
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return envelope(
            401, "unauthenticated", "Send a valid API token: Authorization: Bearer <token>."
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return envelope(404, "not_found", "Not found.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return envelope(exc.status_code, "error", str(exc))


def unknown_route(request: HttpRequest, rest: str = "") -> HttpResponse:
    return envelope(404, "not_found", f"No API route at /api/v1/{rest}.")
