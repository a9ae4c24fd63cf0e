"""The page of a workspace's approval rule: who must approve its posts, in which order."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chorus.errors import ServiceError
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action, Role
from chorus.publishing import services
from chorus.web.shell import actor_of, forbidden, workspace_page

#: The form's choice for a step reserved to the members ticked below it.
NAMED = "members"


@dataclass
class StepRow:
    """One step of the form: a role, named members, or nothing (no such step)."""

    number: int
    kind: str = ""
    members: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def _rows_of(tiers: list[services.Tier]) -> list[StepRow]:
    rows = [StepRow(number) for number in range(1, services.MAX_APPROVAL_TIERS + 1)]
    for row, tier in zip(rows, tiers, strict=False):
        members = services.tier_members(tier)
        row.kind = NAMED if members is not None else str(tier)
        row.members = set(members or ())
    return rows


def _posted_rows(data: QueryDict) -> list[StepRow]:
    rows = []
    for number in range(1, services.MAX_APPROVAL_TIERS + 1):
        members = {int(v) for v in data.getlist(f"step-{number}-members") if v.isdigit()}
        rows.append(StepRow(number, data.get(f"step-{number}-kind", ""), members))
    return rows


def _tiers_of(rows: list[StepRow]) -> tuple[list[object], list[StepRow]]:
    """The steps to save, in order (empty rows skipped), and the row each came from."""
    chosen = [row for row in rows if row.kind]
    tiers: list[object] = [
        {"members": sorted(row.members)} if row.kind == NAMED else row.kind for row in chosen
    ]
    return tiers, chosen


def _describe(tier: services.Tier, names: dict[int, str]) -> str:
    members = services.tier_members(tier)
    if members is None:
        return _("Signed off by: %(role)s or a stronger role") % {"role": Role(str(tier)).label}
    people = ", ".join(names.get(user_id, f"#{user_id}") for user_id in members)
    return _("Signed off by one of: %(people)s") % {"people": people}


def _place_errors(error: ServiceError, chosen: list[StepRow], names: dict[int, str]) -> list[str]:
    """Puts each ``tiers[i]...`` error beside its step; returns those that have no step."""
    rest = []
    for path, message in error.fields.items():
        index = path.removeprefix("tiers[").split("]", 1)[0]
        if path.startswith("tiers[") and index.isdigit() and int(index) < len(chosen):
            row = chosen[int(index)]
            _, _, member = path.partition(".members[")
            who = names.get(_member_at(row, member), "") if member else ""
            row.errors.append(f"{who}: {message}" if who else message)
        else:
            rest.append(message)
    return rest


def _member_at(row: StepRow, position: str) -> int:
    """The user id at ``position`` (e.g. "2]") of the row's members as they were sent."""
    ordered = sorted(row.members)
    index = position.rstrip("]")
    return ordered[int(index)] if index.isdigit() and int(index) < len(ordered) else 0


@workspace_page(Action.APPROVE_CONTENT)
@require_http_methods(["GET", "POST"])
def approval_rule(request: HttpRequest) -> HttpResponse:
    """Managers see the rule that applies here; those who may configure the workspace change
    it: no approval, or 1 to 3 ordered steps, each a role or named members."""
    actor = actor_of(request)
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    can_edit = actor.can(Action.UPDATE_WORKSPACE, workspace)
    rule = services.approval_rule(workspace)
    eligible = services.eligible_approvers(workspace)
    names = {m.user_id: m.user.email for m in eligible}
    required = rule is not None and rule.required
    rows = _rows_of(services.approval_tiers(workspace) if required else [])
    problems: list[str] = []
    if request.method == "POST":
        if not can_edit:
            return forbidden(request)
        required = request.POST.get("required") == "yes"
        rows = _posted_rows(request.POST)
        tiers, chosen = _tiers_of(rows)
        try:
            services.set_approval_rule(
                actor, workspace, required=required, tiers=tiers if required else []
            )
        except ServiceError as exc:
            if exc.status == 404:
                raise
            problems = [exc.message, *_place_errors(exc, chosen, names)]
        else:
            messages.success(request, _("The approval rule is saved."))
            return redirect("publish-approval-rule", slug=workspace.slug)
    return render(
        request,
        "publishing/approval_rule.html",
        {
            "area": "publish",
            "section": "approvals",
            "can_edit": can_edit,
            "rule": rule,
            "summary": [_describe(tier, names) for tier in services.approval_tiers(workspace)],
            "inherited": rule is not None and rule.workspace_id != workspace.pk,
            "required": required,
            "rows": rows,
            "roles": [(role, Role(role).label) for role in services.APPROVER_ROLES],
            "named": NAMED,
            "eligible": eligible,
            "names": names,
            "problems": problems,
        },
    )
