from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.errors import ServiceError


class ComposeForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}))
    channels = forms.TypedMultipleChoiceField(
        label=_("Channels"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    scheduled_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Local time in the zone below. Empty: keep it as a draft."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"))
    when = forms.ChoiceField(
        label=_("When"),
        required=False,
        widget=forms.RadioSelect,
        choices=[
            ("", _("At the time above (empty: keep it as a draft)")),
            ("now", _("Publish now")),
            ("queue", _("Add to the queue: each channel's next free posting slot")),
        ],
    )

    campaign = forms.TypedChoiceField(
        label=_("Campaign"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: object,
        channels: list[tuple[int, str]],
        campaigns: list[tuple[int, str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channels"].choices = channels  # type: ignore[attr-defined]
        self.fields["campaign"].choices = [("", _("No campaign")), *(campaigns or [])]  # type: ignore[attr-defined]
        self.fields["timezone"].choices = [  # type: ignore[attr-defined]
            (name, name) for name in sorted(zoneinfo.available_timezones())
        ]


#: Content types KPIs are usually grouped by, offered as checkboxes (any other label is typed).
COMMON_LABELS = [
    ("video", _("Video")),
    ("offer", _("Offer")),
    ("employer brand", _("Employer brand")),
    ("customer story", _("Customer story")),
]


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    goal = forms.CharField(
        label=_("Goal"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # An <input type="date"> takes ISO dates only, whatever the language.
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=_DATE)
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=_DATE)
    content_types = forms.MultipleChoiceField(
        label=_("Content type"),
        required=False,
        choices=COMMON_LABELS,
        widget=forms.CheckboxSelectMultiple,
    )
    other_labels = forms.CharField(
        label=_("Other labels"),
        required=False,
        help_text=_("Separated by commas."),
    )
    link_tracking = forms.CharField(
        label=_("Link tracking"),
        required=False,
        max_length=500,
        help_text=_(
            "Added to the link of each post, e.g. utm_source={network}&utm_medium=social; "
            "{network} becomes the channel's network."
        ),
    )

    def __init__(self, *args: object, instance: object = None, **kwargs: object) -> None:
        if instance is not None:
            common = {value for value, _label in COMMON_LABELS}
            labels = list(instance.labels)  # type: ignore[attr-defined]
            kwargs["initial"] = {
                "name": instance.name,  # type: ignore[attr-defined]
                "goal": instance.goal,  # type: ignore[attr-defined]
                "starts_on": instance.starts_on,  # type: ignore[attr-defined]
                "ends_on": instance.ends_on,  # type: ignore[attr-defined]
                "content_types": [label for label in labels if label in common],
                "other_labels": ", ".join(label for label in labels if label not in common),
                "link_tracking": instance.link_tracking,  # type: ignore[attr-defined]
            }
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def campaign_fields(self) -> dict[str, Any]:
        """The cleaned fields as the campaign services take them."""
        data = self.cleaned_data
        typed = [label.strip() for label in data["other_labels"].split(",") if label.strip()]
        return {
            "name": data["name"],
            "goal": data["goal"],
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "labels": list(dict.fromkeys([*data["content_types"], *typed])),
            "link_tracking": data["link_tracking"],
        }

    def add_service_errors(self, error: ServiceError) -> None:
        """A refusal of the services, beside the fields it names (else above the form)."""
        for field, message in error.fields.items():
            self.add_error(field if field in self.fields else None, message)
        if not error.fields:
            self.add_error(None, error.message)
