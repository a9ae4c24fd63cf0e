from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.errors import ServiceError
from chorus.orgs.models import Workspace, locale_choices
from chorus.orgs.roles import Role

TIMEZONES = sorted(zoneinfo.available_timezones())


def attach_errors(form: forms.Form, error: ServiceError) -> None:
    """Shows a service's field errors beside the fields, and its message at the top of the form
    when some of what it says has no field of its own."""
    placed = {field: message for field, message in error.fields.items() if field in form.fields}
    for field, message in placed.items():
        form.add_error(field, message)
    if len(placed) < len(error.fields) or not error.fields:
        form.add_error(None, error.message)


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=80,
        help_text=_("Used in addresses and the API, e.g. france-paris."),
    )
    default_locale = forms.ChoiceField(label=_("Default language"), choices=locale_choices)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=[(tz, tz) for tz in TIMEZONES])


class NewWorkspaceForm(WorkspaceForm):
    parent = forms.ModelChoiceField(
        label=_("Inside"), queryset=Workspace.objects.none(), empty_label=None
    )

    field_order = ["parent", "name", "slug", "default_locale", "timezone"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. BI export.")
    )
    workspace = forms.ModelChoiceField(
        label=_("Limit to workspace"),
        queryset=Workspace.objects.none(),
        required=False,
        empty_label=_("All my workspaces"),
        help_text=_("The token reaches this workspace and its sub-workspaces only."),
    )
    role_ceiling = forms.ChoiceField(
        label=_("Role ceiling"),
        choices=[("", _("My own roles")), *Role.choices],
        required=False,
        help_text=_("The token never acts with more than this role."),
    )


class AcceptInvitationForm(forms.Form):
    display_name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput, strip=False
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Who"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
