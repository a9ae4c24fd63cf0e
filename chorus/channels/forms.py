from django import forms
from django.utils.translation import gettext_lazy as _


class BlueskyForm(forms.Form):
    handle = forms.CharField(
        label=_("Handle"), max_length=255, help_text=_("e.g. lumen.bsky.social")
    )
    app_password = forms.CharField(
        label=_("App password"),
        widget=forms.PasswordInput,
        help_text=_("Create one in Bluesky under Settings › Privacy and security › App passwords."),
    )
    service_url = forms.URLField(
        label=_("Server (PDS)"),
        assume_scheme="https",
        required=False,
        help_text=_("Leave empty for bsky.social; give your own PDS address otherwise."),
    )


class BlueskyOAuthForm(forms.Form):
    account = forms.CharField(
        label=_("Handle or server"),
        max_length=255,
        help_text=_(
            "Your handle (e.g. lumen.bsky.social), or the address of your server to choose the "
            "account there."
        ),
    )


class MastodonForm(forms.Form):
    instance_url = forms.URLField(
        label=_("Instance"), assume_scheme="https", help_text=_("e.g. https://mastodon.social")
    )
    access_token = forms.CharField(
        label=_("Access token"),
        widget=forms.PasswordInput,
        help_text=_(
            "From the instance: Preferences › Development › New application (read, write, push)."
        ),
    )


class MastodonInstanceForm(forms.Form):
    instance_url = forms.URLField(
        label=_("Instance"), assume_scheme="https", help_text=_("e.g. https://mastodon.social")
    )
