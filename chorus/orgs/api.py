from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, Query, Router, Schema, Status

from chorus.api.auth import actor
from chorus.api.pagination import PageParams, paginate
from chorus.errors import Invalid
from chorus.orgs import selectors, services
from chorus.orgs.access import workspace_for
from chorus.orgs.exports import audit_csv_response
from chorus.orgs.models import ApiToken, AuditEntry, Invitation, Membership, User, Workspace
from chorus.orgs.roles import Action, Role

router = Router()


# Schemas -----------------------------------------------------------------------------------


class WorkspaceOut(Schema):
    id: int
    slug: str
    name: str
    parent: str | None = Field(None, description="slug of the parent workspace")
    organisation: str
    default_locale: str
    timezone: str
    depth: int
    role: str | None = Field(None, description="the role that applies to you here")

    @staticmethod
    def build(workspace: Workspace, role: str | None) -> WorkspaceOut:
        return WorkspaceOut(
            id=workspace.pk,
            slug=workspace.slug,
            name=workspace.name,
            parent=workspace.parent.slug if workspace.parent else None,
            organisation=workspace.organisation.slug,
            default_locale=workspace.default_locale,
            timezone=workspace.timezone,
            depth=workspace.depth,
            role=role,
        )


class WorkspacePage(Schema):
    items: list[WorkspaceOut]
    next_cursor: str | None


class WorkspaceIn(Schema):
    parent: str = Field(description="slug or id of the parent workspace")
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=80)
    default_locale: str | None = None
    timezone: str | None = Field(None, description="IANA zone, e.g. Europe/Paris")


class WorkspacePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    slug: str | None = Field(None, min_length=1, max_length=80)
    default_locale: str | None = None
    timezone: str | None = None
    parent: str | None = Field(None, description="move under this workspace (slug or id)")


class MemberOut(Schema):
    id: int
    email: str
    display_name: str
    role: str
    workspace: str
    inherited: bool

    @staticmethod
    def build(membership: Membership, inherited: bool = False) -> MemberOut:
        return MemberOut(
            id=membership.pk,
            email=membership.user.email,
            display_name=membership.user.display_name,
            role=membership.role,
            workspace=membership.workspace.slug,
            inherited=inherited,
        )


class MemberIn(Schema):
    email: str
    role: Role


class RoleIn(Schema):
    role: Role


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    workspace: str
    status: str
    created_at: datetime
    expires_at: datetime

    @staticmethod
    def build(invitation: Invitation) -> InvitationOut:
        return InvitationOut(
            id=invitation.pk,
            email=invitation.email,
            role=invitation.role,
            workspace=invitation.workspace.slug,
            status=invitation.status,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


class InvitationIn(Schema):
    email: str
    role: Role


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    workspace: str | None
    role_ceiling: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def build(token: ApiToken) -> TokenOut:
        return TokenOut(
            id=token.pk,
            name=token.name,
            prefix=token.prefix,
            workspace=token.workspace.slug if token.workspace else None,
            role_ceiling=token.role_ceiling or None,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenPage(Schema):
    items: list[TokenOut]
    next_cursor: str | None


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    workspace: str | None = Field(None, description="limit to this workspace subtree (slug or id)")
    role_ceiling: Role | None = None


class TokenCreated(TokenOut):
    secret: str = Field(description="shown once; store it now")


class MeOut(Schema):
    id: int
    email: str
    display_name: str
    workspaces: list[WorkspaceOut]
    token: TokenOut | None = None


class AuditOut(Schema):
    id: int
    created_at: datetime
    actor: str
    token: str | None
    ip_address: str | None
    action: str
    workspace: str | None
    target_type: str
    target_id: str
    target: str
    details: dict

    @staticmethod
    def build(entry: AuditEntry) -> AuditOut:
        return AuditOut(
            id=entry.pk,
            created_at=entry.created_at,
            actor=entry.actor_email,
            token=str(entry.token_id) if entry.token_id else None,
            ip_address=entry.ip_address,
            action=entry.action,
            workspace=entry.workspace.slug if entry.workspace else None,
            target_type=entry.target_type,
            target_id=entry.target_id,
            target=entry.target_repr,
            details=entry.details,
        )


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: str | None


class AuditQuery(Schema):
    workspace: str | None = Field(None, description="this workspace and its sub-workspaces")
    action: str = Field("", description="action prefix, e.g. member. or token.created")
    actor: str = Field("", description="part of the actor's e-mail")
    since: datetime | None = None
    until: datetime | None = None


# Me and workspaces -------------------------------------------------------------------------


@router.get("/me", response=MeOut, tags=["me"])
def me(request: HttpRequest) -> MeOut:
    who = actor(request)
    return MeOut(
        id=who.user.pk,
        email=who.user.email,
        display_name=who.user.display_name,
        workspaces=[
            WorkspaceOut.build(ws, who.role_on(ws))
            for ws in selectors.workspaces(who).select_related("parent")
        ],
        token=TokenOut.build(who.token) if who.token else None,
    )


@router.get("/workspaces", response=WorkspacePage, tags=["workspaces"])
def list_workspaces(request: HttpRequest, page: Query[PageParams]) -> dict:
    who = actor(request)
    result = paginate(selectors.workspaces(who).select_related("parent"), page)
    result["items"] = [WorkspaceOut.build(ws, who.role_on(ws)) for ws in result["items"]]
    return result


@router.post("/workspaces", response={201: WorkspaceOut}, tags=["workspaces"])
def create_workspace(request: HttpRequest, payload: WorkspaceIn) -> Status[WorkspaceOut]:
    who = actor(request)
    parent = workspace_for(who, payload.parent)
    workspace = services.create_workspace(
        who,
        parent=parent,
        name=payload.name,
        slug=payload.slug,
        default_locale=payload.default_locale,
        timezone_name=payload.timezone,
    )
    return Status(201, WorkspaceOut.build(workspace, who.role_on(workspace)))


@router.get("/workspaces/{workspace}", response=WorkspaceOut, tags=["workspaces"])
def get_workspace(request: HttpRequest, workspace: str) -> WorkspaceOut:
    who = actor(request)
    found = workspace_for(who, workspace)
    return WorkspaceOut.build(found, who.role_on(found))


@router.patch("/workspaces/{workspace}", response=WorkspaceOut, tags=["workspaces"])
def update_workspace(request: HttpRequest, workspace: str, payload: WorkspacePatch) -> WorkspaceOut:
    who = actor(request)
    found = workspace_for(who, workspace)
    new_parent = workspace_for(who, payload.parent) if payload.parent else None
    updated = services.update_workspace(
        who,
        found,
        name=payload.name,
        slug=payload.slug,
        default_locale=payload.default_locale,
        timezone_name=payload.timezone,
        parent=new_parent,
    )
    return WorkspaceOut.build(updated, who.role_on(updated))


@router.delete("/workspaces/{workspace}", response={204: None}, tags=["workspaces"])
def delete_workspace(request: HttpRequest, workspace: str) -> Status[None]:
    who = actor(request)
    services.delete_workspace(who, workspace_for(who, workspace))
    return Status(204, None)


# Members -----------------------------------------------------------------------------------


@router.get("/workspaces/{workspace}/members", response=list[MemberOut], tags=["members"])
def list_members(request: HttpRequest, workspace: str) -> list[MemberOut]:
    who = actor(request)
    rows = selectors.members(who, workspace_for(who, workspace))
    return [
        MemberOut.build(row.membership, inherited=row.inherited_from is not None) for row in rows
    ]


@router.put("/workspaces/{workspace}/members", response=MemberOut, tags=["members"])
def set_member(request: HttpRequest, workspace: str, payload: MemberIn) -> MemberOut:
    """Gives an existing user a role here (use invitations for people without an account)."""
    who = actor(request)
    found = workspace_for(who, workspace, Action.MANAGE_MEMBERS)
    user = User.objects.filter(email=payload.email.strip().lower(), is_active=True).first()
    if user is None:
        raise Invalid(
            "No account has this e-mail address: send an invitation instead.",
            fields={"email": "No account with this e-mail."},
        )
    return MemberOut.build(services.set_role(who, found, user, payload.role))


@router.patch("/members/{membership_id}", response=MemberOut, tags=["members"])
def change_role(request: HttpRequest, membership_id: int, payload: RoleIn) -> MemberOut:
    who = actor(request)
    membership = selectors.membership(who, membership_id)
    return MemberOut.build(
        services.set_role(who, membership.workspace, membership.user, payload.role)
    )


@router.delete("/members/{membership_id}", response={204: None}, tags=["members"])
def remove_member(request: HttpRequest, membership_id: int) -> Status[None]:
    who = actor(request)
    services.remove_member(who, selectors.membership(who, membership_id))
    return Status(204, None)


# Invitations -------------------------------------------------------------------------------


@router.get("/workspaces/{workspace}/invitations", response=InvitationPage, tags=["invitations"])
def list_invitations(request: HttpRequest, workspace: str, page: Query[PageParams]) -> dict:
    who = actor(request)
    result = paginate(
        selectors.invitations(who, workspace_for(who, workspace)), page, newest_first=True
    )
    result["items"] = [InvitationOut.build(inv) for inv in result["items"]]
    return result


@router.post(
    "/workspaces/{workspace}/invitations", response={201: InvitationOut}, tags=["invitations"]
)
def send_invitation(
    request: HttpRequest, workspace: str, payload: InvitationIn
) -> Status[InvitationOut]:
    who = actor(request)
    invitation = services.invite(
        who, workspace_for(who, workspace), email=payload.email, role=payload.role
    )
    return Status(201, InvitationOut.build(invitation))


@router.post("/invitations/{invitation_id}/revoke", response=InvitationOut, tags=["invitations"])
def revoke_invitation(request: HttpRequest, invitation_id: int) -> InvitationOut:
    who = actor(request)
    return InvitationOut.build(
        services.revoke_invitation(who, selectors.invitation(who, invitation_id))
    )


# Tokens ------------------------------------------------------------------------------------


@router.get("/tokens", response=TokenPage, tags=["tokens"])
def list_tokens(request: HttpRequest, page: Query[PageParams]) -> dict:
    result = paginate(selectors.tokens(actor(request)), page, newest_first=True)
    result["items"] = [TokenOut.build(token) for token in result["items"]]
    return result


@router.post("/tokens", response={201: TokenCreated}, tags=["tokens"])
def create_token(request: HttpRequest, payload: TokenIn) -> Status[TokenCreated]:
    who = actor(request)
    workspace = workspace_for(who, payload.workspace) if payload.workspace else None
    token, secret = services.create_token(
        who, name=payload.name, workspace=workspace, role_ceiling=payload.role_ceiling
    )
    return Status(201, TokenCreated(**TokenOut.build(token).dict(), secret=secret))


@router.post("/tokens/{token_id}/revoke", response=TokenOut, tags=["tokens"])
def revoke_token(request: HttpRequest, token_id: int) -> TokenOut:
    who = actor(request)
    return TokenOut.build(services.revoke_token(who, selectors.token(who, token_id)))


# Audit -------------------------------------------------------------------------------------


def _audit_filter(request: HttpRequest, query: AuditQuery) -> selectors.AuditFilter:
    who = actor(request)
    return selectors.AuditFilter(
        workspace=workspace_for(who, query.workspace, Action.VIEW_AUDIT)
        if query.workspace
        else None,
        action=query.action,
        actor_email=query.actor,
        since=query.since,
        until=query.until,
    )


@router.get("/audit", response=AuditPage, tags=["audit"])
def list_audit(request: HttpRequest, query: Query[AuditQuery], page: Query[PageParams]) -> dict:
    entries = selectors.audit_entries(actor(request), _audit_filter(request, query))
    result = paginate(entries, page, newest_first=True)
    result["items"] = [AuditOut.build(entry) for entry in result["items"]]
    return result


@router.get("/audit.csv", tags=["audit"], response={200: None})
def export_audit(request: HttpRequest, query: Query[AuditQuery]) -> HttpResponseBase:
    entries = selectors.audit_entries(actor(request), _audit_filter(request, query))
    return audit_csv_response(entries)
