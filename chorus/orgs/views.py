from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chorus.errors import NotFound, ServiceError
from chorus.orgs import selectors, services
from chorus.orgs.exports import audit_csv_response
from chorus.orgs.forms import (
    AcceptInvitationForm,
    AuditFilterForm,
    InvitationForm,
    NewWorkspaceForm,
    RoleForm,
    TokenForm,
    WorkspaceForm,
    attach_errors,
)
from chorus.orgs.models import User
from chorus.orgs.roles import Action
from chorus.web.shell import actor_of, workspace_page


@workspace_page()
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    actor = actor_of(request)
    parents = selectors.workspaces(actor).filter(
        pk__in=actor.workspace_ids(Action.CREATE_WORKSPACE)
    )
    # Two forms on one page: prefixes keep their field ids (and so their labels) apart.
    edit_form = WorkspaceForm(
        prefix="edit",
        initial={
            "name": workspace.name,
            "slug": workspace.slug,
            "default_locale": workspace.default_locale,
            "timezone": workspace.timezone,
        },
    )
    new_form = NewWorkspaceForm(
        prefix="new",
        initial={
            "parent": workspace,
            "default_locale": workspace.default_locale,
            "timezone": workspace.timezone,
        },
    )
    new_form.fields["parent"].queryset = parents  # type: ignore[attr-defined]
    if request.method == "POST" and request.POST.get("form") == "edit":
        edit_form = WorkspaceForm(request.POST, prefix="edit")
        if edit_form.is_valid():
            try:
                services.update_workspace(
                    actor,
                    workspace,
                    name=edit_form.cleaned_data["name"],
                    slug=edit_form.cleaned_data["slug"],
                    default_locale=edit_form.cleaned_data["default_locale"],
                    timezone_name=edit_form.cleaned_data["timezone"],
                )
                messages.success(request, _("Workspace saved."))
                return redirect("workspace-settings", slug=workspace.slug)
            except ServiceError as exc:
                attach_errors(edit_form, exc)
    elif request.method == "POST" and request.POST.get("form") == "new":
        new_form = NewWorkspaceForm(request.POST, prefix="new")
        new_form.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        if new_form.is_valid():
            try:
                created = services.create_workspace(
                    actor,
                    parent=new_form.cleaned_data["parent"],
                    name=new_form.cleaned_data["name"],
                    slug=new_form.cleaned_data["slug"],
                    default_locale=new_form.cleaned_data["default_locale"],
                    timezone_name=new_form.cleaned_data["timezone"],
                )
                messages.success(request, _("Workspace %(name)s created.") % {"name": created.name})
                return redirect("workspace-settings", slug=created.slug)
            except ServiceError as exc:
                attach_errors(new_form, exc)
    subtree = [ws for ws in selectors.workspaces(actor) if ws.path.startswith(workspace.path)]
    return render(
        request,
        "orgs/workspace_settings.html",
        {
            "edit_form": edit_form,
            "new_form": new_form,
            "subtree": subtree,
            "can_update": actor.can(Action.UPDATE_WORKSPACE, workspace),
            "can_create": parents.exists(),
            "can_delete": actor.can(Action.DELETE_WORKSPACE, workspace)
            and workspace.parent_id is not None,
        },
    )


@workspace_page(Action.DELETE_WORKSPACE)
@require_POST
def delete_workspace(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    parent_slug = workspace.parent.slug if workspace.parent else None
    try:
        services.delete_workspace(actor_of(request), workspace)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("workspace-settings", slug=workspace.slug)
    messages.success(request, _("Workspace %(name)s deleted.") % {"name": workspace.name})
    return redirect("workspace-settings", slug=parent_slug)


@workspace_page(Action.VIEW_MEMBERS)
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    actor = actor_of(request)
    form = InvitationForm()
    if request.method == "POST":
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = services.invite(
                    actor,
                    workspace,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
                return redirect("members", slug=workspace.slug)
            except ServiceError as exc:
                attach_errors(form, exc)
    return render(
        request,
        "orgs/members.html",
        {
            "rows": selectors.members(actor, workspace),
            "invitations": selectors.invitations(actor, workspace)[:50],
            "form": form,
            "role_form": RoleForm(),
            "can_manage": actor.can(Action.MANAGE_MEMBERS, workspace),
        },
    )


@workspace_page(Action.MANAGE_MEMBERS)
@require_POST
def change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor = actor_of(request)
    membership = selectors.membership(actor, membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.set_role(
                actor, membership.workspace, membership.user, form.cleaned_data["role"]
            )
            messages.success(
                request, _("Role of %(email)s changed.") % {"email": membership.user.email}
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
    return redirect("members", slug=request.workspace.slug)  # type: ignore[attr-defined]


@workspace_page(Action.MANAGE_MEMBERS)
@require_POST
def remove_member(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor = actor_of(request)
    membership = selectors.membership(actor, membership_id)
    try:
        services.remove_member(actor, membership)
        messages.success(request, _("%(email)s removed.") % {"email": membership.user.email})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("members", slug=request.workspace.slug)  # type: ignore[attr-defined]


@workspace_page(Action.MANAGE_MEMBERS)
@require_POST
def revoke_invitation(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = actor_of(request)
    invitation = selectors.invitation(actor, invitation_id)
    try:
        services.revoke_invitation(actor, invitation)
    except ServiceError as exc:
        messages.error(request, exc.message)
    if request.headers.get("HX-Request"):
        return render(
            request, "orgs/_invitation_row.html", {"invitation": invitation, "can_manage": True}
        )
    return redirect("members", slug=request.workspace.slug)  # type: ignore[attr-defined]


def _audit_filter(request: HttpRequest, form: AuditFilterForm) -> selectors.AuditFilter:
    data = form.cleaned_data if form.is_valid() else {}

    def day_start(day: object) -> datetime | None:
        return timezone.make_aware(datetime.combine(day, time.min)) if day else None  # type: ignore[arg-type]

    until = day_start(data.get("until"))
    return selectors.AuditFilter(
        workspace=request.workspace,  # type: ignore[attr-defined]
        action=data.get("action", ""),
        actor_email=data.get("actor", ""),
        since=day_start(data.get("since")),
        until=until + timedelta(days=1) if until else None,
    )


@workspace_page(Action.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET)
    entries = selectors.audit_entries(actor_of(request), _audit_filter(request, form))
    if request.GET.get("format") == "csv":
        return audit_csv_response(entries)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "orgs/audit.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = TokenForm()
    form.fields["workspace"].queryset = selectors.workspaces(actor)  # type: ignore[attr-defined]
    secret = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        form.fields["workspace"].queryset = selectors.workspaces(actor)  # type: ignore[attr-defined]
        if form.is_valid():
            try:
                _token, secret = services.create_token(
                    actor,
                    name=form.cleaned_data["name"],
                    workspace=form.cleaned_data["workspace"],
                    role_ceiling=form.cleaned_data["role_ceiling"] or None,
                )
                form = TokenForm()
                form.fields["workspace"].queryset = selectors.workspaces(actor)  # type: ignore[attr-defined]
            except ServiceError as exc:
                attach_errors(form, exc)
    return render(
        request,
        "orgs/tokens.html",
        {"form": form, "tokens": selectors.tokens(actor), "secret": secret},
    )


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        token = services.revoke_token(actor, selectors.token(actor, token_id))
    except NotFound:
        raise Http404 from None
    if request.headers.get("HX-Request"):
        return render(request, "orgs/_token_row.html", {"token": token})
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("tokens")


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, secret: str) -> HttpResponse:
    """The link of an invitation e-mail: join as the logged-in person, or create the account."""
    try:
        invitation = services.pending_invitation(secret)
    except ServiceError as exc:
        return render(request, "orgs/invitation.html", {"error": exc.message}, status=exc.status)
    user = request.user if isinstance(request.user, User) else None
    form = AcceptInvitationForm(request.POST or None) if user is None else None
    error = None
    if request.method == "POST" and (form is None or form.is_valid()):
        fields = form.cleaned_data if form is not None else {}
        try:
            membership = services.accept_invitation(
                secret,
                user=user,
                password=fields.get("password"),
                display_name=fields.get("display_name", ""),
                ip=request.META.get("REMOTE_ADDR"),
            )
        except ServiceError as exc:
            if form is not None:
                attach_errors(form, exc)
            else:
                error = exc.message
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome to %(workspace)s.") % {"workspace": membership.workspace.name}
            )
            return redirect("dashboard", slug=membership.workspace.slug)
    return render(
        request,
        "orgs/invitation.html",
        {"invitation": invitation, "form": form, "existing_user": user, "accept_error": error},
    )
