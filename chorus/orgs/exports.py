"""CSV export of the audit log, shared by the API and the audit page."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from chorus.orgs.models import AuditEntry

HEADER = [
    "id",
    "created_at",
    "actor",
    "token",
    "ip_address",
    "action",
    "workspace",
    "target_type",
    "target_id",
    "target",
    "details",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_safe(value: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ would be evaluated.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


def audit_csv_response(entries: QuerySet[AuditEntry]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(HEADER)
        for entry in entries.iterator():
            yield writer.writerow(
                [
                    entry.pk,
                    entry.created_at.isoformat(),
                    entry.actor_email,
                    entry.token_id or "",
                    entry.ip_address or "",
                    entry.action,
                    entry.workspace.slug if entry.workspace else entry.workspace_path,
                    entry.target_type,
                    entry.target_id,
                    _csv_safe(entry.target_repr),
                    _csv_safe(str(entry.details)),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chorus-audit.csv"'
    return response
