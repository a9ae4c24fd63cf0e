"""Every write on organisations, workspaces, members, invitations and tokens.

Each function takes the acting ``Actor``, checks the role matrix through ``access`` and
writes an audit entry in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chorus.errors import Conflict, Forbidden, Invalid, NotFound
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import (
    ApiToken,
    Invitation,
    Membership,
    Organisation,
    User,
    Workspace,
    locale_choices,
    slug_validator,
    validate_timezone,
)
from chorus.orgs.roles import ROLE_RANK, Action, Role

INVITATION_LIFETIME = timedelta(days=7)
TOKEN_PREFIX = "chorus"  # noqa: S105 - a public marker, not a secret


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_email(email: str) -> str:
    """The address as stored (lowercase, trimmed), or ``Invalid`` naming the field."""
    email = User.objects.normalize_email(email).strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(
            _("Enter a valid e-mail address."), fields={"email": _("Not a valid e-mail address.")}
        ) from None
    return email


def check_password_strength(password: str, user: User) -> None:
    """Django's password rules, as an ``Invalid`` on the ``password`` field."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(
            _("This password is too weak."), fields={"password": " ".join(exc.messages)}
        ) from None


def _check_workspace_fields(
    *, slug: str | None, default_locale: str | None, tz: str | None, name: str | None
) -> None:
    errors: dict[str, str] = {}
    if name is not None and not name.strip():
        errors["name"] = _("A name is required.")
    if slug is not None:
        try:
            slug_validator(slug)
        except ValidationError as exc:
            errors["slug"] = " ".join(exc.messages)
    if default_locale is not None and default_locale not in dict(locale_choices()):
        errors["default_locale"] = _("Choose one of: %(codes)s.") % {
            "codes": ", ".join(code for code, _name in locale_choices())
        }
    if tz is not None:
        try:
            validate_timezone(tz)
        except ValidationError as exc:
            errors["timezone"] = " ".join(exc.messages)
    if errors:
        raise Invalid(_("Some fields are not valid."), fields=errors)


# Organisations and workspaces -------------------------------------------------------------


@transaction.atomic
def create_organisation(
    *,
    owner: User,
    name: str,
    slug: str,
    timezone_name: str = "UTC",
    default_locale: str = "en",
    is_demo: bool = False,
) -> Workspace:
    """A new organisation with its root workspace, owned by ``owner``. Returns the root."""
    _check_workspace_fields(slug=slug, default_locale=default_locale, tz=timezone_name, name=name)
    if (
        Organisation.objects.filter(slug=slug).exists()
        or Workspace.objects.filter(slug=slug).exists()
    ):
        raise Conflict(
            _("The slug %(slug)s is already taken.") % {"slug": slug},
            fields={"slug": _("Already taken.")},
        )
    organisation = Organisation.objects.create(name=name, slug=slug, is_demo=is_demo)
    root = _insert_workspace(
        organisation=organisation,
        parent=None,
        name=name,
        slug=slug,
        default_locale=default_locale,
        tz=timezone_name,
    )
    Membership.objects.create(user=owner, workspace=root, role=Role.OWNER)
    audit.record(Actor(owner), "organisation.created", workspace=root, target=organisation)
    return root


def _insert_workspace(
    *,
    organisation: Organisation,
    parent: Workspace | None,
    name: str,
    slug: str,
    default_locale: str,
    tz: str,
) -> Workspace:
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(
                organisation=organisation,
                parent=parent,
                name=name.strip(),
                slug=slug,
                default_locale=default_locale,
                timezone=tz,
                depth=parent.depth + 1 if parent else 0,
            )
    except IntegrityError:
        raise Conflict(
            _("The slug %(slug)s is already taken.") % {"slug": slug},
            fields={"slug": _("Already taken.")},
        ) from None
    workspace.path = f"{parent.path if parent else '/'}{workspace.pk}/"
    workspace.save(update_fields=["path"])
    return workspace


@transaction.atomic
def create_workspace(
    actor: Actor,
    *,
    parent: Workspace,
    name: str,
    slug: str,
    default_locale: str | None = None,
    timezone_name: str | None = None,
) -> Workspace:
    require(actor, Action.CREATE_WORKSPACE, parent)
    locale = default_locale or parent.default_locale
    tz = timezone_name or parent.timezone
    _check_workspace_fields(slug=slug, default_locale=locale, tz=tz, name=name)
    workspace = _insert_workspace(
        organisation=parent.organisation,
        parent=parent,
        name=name,
        slug=slug,
        default_locale=locale,
        tz=tz,
    )
    actor.forget_roles()
    audit.record(
        actor,
        "workspace.created",
        workspace=workspace,
        target=workspace,
        details={"parent": parent.slug},
    )
    return workspace


@transaction.atomic
def update_workspace(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str | None = None,
    slug: str | None = None,
    default_locale: str | None = None,
    timezone_name: str | None = None,
    parent: Workspace | None = None,
) -> Workspace:
    require(actor, Action.UPDATE_WORKSPACE, workspace)
    _check_workspace_fields(slug=slug, default_locale=default_locale, tz=timezone_name, name=name)
    changes: dict[str, list[str]] = {}
    for attr, value in (
        ("name", name),
        ("slug", slug),
        ("default_locale", default_locale),
        ("timezone", timezone_name),
    ):
        if value is not None and getattr(workspace, attr) != value:
            changes[attr] = [getattr(workspace, attr), value]
            setattr(workspace, attr, value.strip() if attr == "name" else value)
    if parent is not None and parent.pk != workspace.parent_id:
        _move(actor, workspace, parent)
        changes["parent"] = [workspace.parent.slug if workspace.parent else "", parent.slug]
    try:
        with transaction.atomic():
            workspace.save()
    except IntegrityError:
        raise Conflict(
            _("The slug %(slug)s is already taken.") % {"slug": slug},
            fields={"slug": _("Already taken.")},
        ) from None
    if changes:
        actor.forget_roles()
        audit.record(
            actor, "workspace.updated", workspace=workspace, target=workspace, details=changes
        )
    return workspace


def _move(actor: Actor, workspace: Workspace, new_parent: Workspace) -> None:
    if workspace.parent_id is None:
        raise Invalid(
            _("The root workspace of an organisation cannot be moved."),
            fields={"parent": _("The root cannot move.")},
        )
    require(actor, Action.CREATE_WORKSPACE, new_parent)
    if new_parent.organisation_id != workspace.organisation_id or new_parent.path.startswith(
        workspace.path
    ):
        raise Invalid(
            _("A workspace can only move under another branch of its own organisation."),
            fields={"parent": _("Not a valid new parent.")},
        )
    old_path = workspace.path
    new_path = f"{new_parent.path}{workspace.pk}/"
    depth_shift = new_parent.depth + 1 - workspace.depth
    for node in Workspace.objects.filter(path__startswith=old_path):
        node.path = new_path + node.path[len(old_path) :]
        node.depth += depth_shift
        node.save(update_fields=["path", "depth"])
    workspace.refresh_from_db(fields=["path", "depth"])
    workspace.parent = new_parent


@transaction.atomic
def delete_workspace(actor: Actor, workspace: Workspace) -> None:
    require(actor, Action.DELETE_WORKSPACE, workspace)
    if workspace.parent_id is None:
        raise Invalid(_("The root workspace of an organisation cannot be deleted."))
    descendants = workspace.subtree().count() - 1
    audit.record(
        actor,
        "workspace.deleted",
        workspace=workspace.parent,
        target=workspace,
        details={"slug": workspace.slug, "sub_workspaces_deleted": descendants},
    )
    workspace.delete()
    actor.forget_roles()


# Members ------------------------------------------------------------------------------------


def _check_grantable(actor: Actor, workspace: Workspace, role: str) -> None:
    if role not in Role.values:
        raise Invalid(
            _("Unknown role %(role)s.") % {"role": role},
            fields={"role": _("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}},
        )
    require(actor, Action.MANAGE_MEMBERS, workspace)
    if role == Role.OWNER:
        require(actor, Action.GRANT_OWNER, workspace)


@transaction.atomic
def set_role(actor: Actor, workspace: Workspace, user: User, role: str) -> Membership:
    _check_grantable(actor, workspace, role)
    membership, created = Membership.objects.get_or_create(
        user=user, workspace=workspace, defaults={"role": role}
    )
    previous = None if created else membership.role
    if previous == Role.OWNER and role != Role.OWNER:
        require(actor, Action.GRANT_OWNER, workspace)
        _keep_an_owner(workspace, leaving=membership)
    if not created:
        membership.role = role
        membership.save(update_fields=["role"])
    audit.record(
        actor,
        "member.role_changed" if previous else "member.added",
        workspace=workspace,
        target=membership,
        details={"user": user.email, "from": previous, "to": role},
    )
    actor.forget_roles()
    return membership


def _keep_an_owner(workspace: Workspace, *, leaving: Membership) -> None:
    if workspace.parent_id is not None:
        return
    owners = Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(pk=leaving.pk)
    if not owners.exists():
        raise Invalid(_("An organisation needs at least one owner on its root workspace."))


@transaction.atomic
def remove_member(actor: Actor, membership: Membership) -> None:
    workspace = membership.workspace
    require(actor, Action.MANAGE_MEMBERS, workspace)
    if membership.role == Role.OWNER:
        require(actor, Action.GRANT_OWNER, workspace)
        _keep_an_owner(workspace, leaving=membership)
    audit.record(
        actor,
        "member.removed",
        workspace=workspace,
        target=membership,
        details={"user": membership.user.email, "role": membership.role},
    )
    membership.delete()
    actor.forget_roles()


# Invitations -------------------------------------------------------------------------------


@transaction.atomic
def invite(actor: Actor, workspace: Workspace, *, email: str, role: str) -> Invitation:
    """Invites someone by e-mail; a pending invitation to the same address is replaced."""
    email = clean_email(email)
    _check_grantable(actor, workspace, role)
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise Conflict(
            _("%(email)s is already a member of this workspace.") % {"email": email},
            fields={"email": _("Already a member.")},
        )
    now = timezone.now()
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=now)
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_hash(secret),
        invited_by=actor.user,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit.record(
        actor,
        "invitation.sent",
        workspace=workspace,
        target=invitation,
        details={"email": email, "role": role},
    )
    link = f"{settings.PUBLIC_URL}/invitations/{secret}/"
    with override(workspace.default_locale):
        subject = _("You are invited to %(workspace)s on Chorus") % {"workspace": workspace.name}
        body = _(
            "%(inviter)s invites you to join %(workspace)s as %(role)s.\n\n"
            "Accept the invitation: %(link)s\n\nThe link expires on %(expiry)s (UTC)."
        ) % {
            "inviter": actor.user,
            "workspace": workspace.name,
            "role": Role(role).label,
            "link": link,
            "expiry": invitation.expires_at.strftime("%Y-%m-%d %H:%M"),
        }
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation


@transaction.atomic
def revoke_invitation(actor: Actor, invitation: Invitation) -> Invitation:
    require(actor, Action.MANAGE_MEMBERS, invitation.workspace)
    if invitation.status != Invitation.Status.PENDING:
        raise Conflict(
            _("Only a pending invitation can be revoked; this one is %(status)s.")
            % {"status": invitation.get_status_display()}
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor,
        "invitation.revoked",
        workspace=invitation.workspace,
        target=invitation,
        details={"email": invitation.email},
    )
    return invitation


def pending_invitation(secret: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("workspace").filter(token_hash=_hash(secret)).first()
    )
    if invitation is None:
        raise NotFound(_("This invitation link is not valid."))
    if invitation.status != Invitation.Status.PENDING:
        raise Conflict(
            _("This invitation is %(status)s.")
            % {"status": invitation.get_status_display().lower()}
        )
    return invitation


@transaction.atomic
def accept_invitation(
    secret: str,
    *,
    user: User | None = None,
    password: str | None = None,
    display_name: str = "",
    ip: str | None = None,
) -> Membership:
    """Accepts as the logged-in ``user``, or creates the invited account with ``password``."""
    invitation = pending_invitation(secret)
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise Conflict(
                _("An account with this e-mail exists: log in first, then open the link again.")
            )
        if not password:
            raise Invalid(_("Choose a password."), fields={"password": _("Required.")})
        check_password_strength(password, User(email=invitation.email, display_name=display_name))
        user = User.objects.create_user(invitation.email, password, display_name=display_name)
    elif user.email.lower() != invitation.email:
        raise Forbidden(_("This invitation was sent to another e-mail address."))
    membership, created = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    if not created and ROLE_RANK[invitation.role] > ROLE_RANK[membership.role]:
        membership.role = invitation.role
        membership.save(update_fields=["role"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        Actor(user, ip=ip),
        "invitation.accepted",
        workspace=invitation.workspace,
        target=invitation,
        details={"email": user.email, "role": membership.role},
    )
    return membership


# API tokens --------------------------------------------------------------------------------


@transaction.atomic
def create_token(
    actor: Actor,
    *,
    name: str,
    workspace: Workspace | None = None,
    role_ceiling: str | None = None,
) -> tuple[ApiToken, str]:
    """Creates a token for the actor; returns it with its secret, which is never shown again.

    A token made with a token can reach no further than the one that made it.
    """
    if not name.strip():
        raise Invalid(_("Give the token a name."), fields={"name": _("Required.")})
    if role_ceiling and role_ceiling not in Role.values:
        raise Invalid(
            _("Unknown role %(role)s.") % {"role": role_ceiling},
            fields={
                "role_ceiling": _("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}
            },
        )
    if workspace is not None and actor.role_on(workspace) is None:
        raise NotFound()
    if actor.token:
        workspace = workspace or actor.token.workspace
        ceiling = actor.token.role_ceiling
        if ceiling and (not role_ceiling or ROLE_RANK[role_ceiling] > ROLE_RANK[ceiling]):
            role_ceiling = ceiling
    secret_part = secrets.token_urlsafe(32)
    prefix = secrets.token_hex(6)
    token = ApiToken.objects.create(
        user=actor.user,
        name=name.strip(),
        prefix=prefix,
        token_hash=_hash(secret_part),
        workspace=workspace,
        role_ceiling=role_ceiling or "",
    )
    audit.record(
        actor,
        "token.created",
        workspace=workspace,
        target=token,
        details={
            "name": token.name,
            "workspace": workspace.slug if workspace else None,
            "role_ceiling": token.role_ceiling or None,
        },
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret_part}"


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken) -> ApiToken:
    if token.user_id != actor.user.pk:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor,
            "token.revoked",
            workspace=token.workspace,
            target=token,
            details={"name": token.name},
        )
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token matching a presented secret, or None. Touches ``last_used_at``."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = (
        ApiToken.objects.select_related("user", "workspace")
        .filter(prefix=parts[1], revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None or not secrets.compare_digest(token.token_hash, _hash(parts[2])):
        return None
    now = timezone.now()
    # One write a minute at most: a busy integration must not turn every read into a write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# Accounts ----------------------------------------------------------------------------------


def create_user(*, email: str, password: str, owner: bool = False, display_name: str = "") -> User:
    """Creates a person (command line and first run). ``owner`` also makes a staff superuser."""
    email = clean_email(email)
    if User.objects.filter(email=email).exists():
        raise Conflict(
            _("A user with the e-mail %(email)s already exists.") % {"email": email},
            fields={"email": _("Already taken.")},
        )
    check_password_strength(password, User(email=email))
    if owner:
        return User.objects.create_superuser(email, password, display_name=display_name)
    return User.objects.create_user(email, password, display_name=display_name)
