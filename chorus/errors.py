"""Errors raised by services and turned into one error envelope by the API and the pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: object = "", *, fields: dict[str, str] | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        # Field path (as the caller sent it, e.g. "timezone") -> what is wrong with it.
        self.fields = {key: str(value) for key, value in (fields or {}).items()}


class NotFound(ServiceError):
    """Also raised for objects that exist but are outside the caller's reach."""

    status = 404
    code = "not_found"

    def __init__(self, message: object = "") -> None:
        super().__init__(message or _("Not found."))


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"

    def __init__(self, message: object = "") -> None:
        super().__init__(message or _("Your role does not allow this here."))


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
