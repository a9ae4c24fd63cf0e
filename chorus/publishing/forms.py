from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _


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

    def __init__(self, *args: object, channels: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channels"].choices = channels  # type: ignore[attr-defined]
        self.fields["timezone"].choices = [  # type: ignore[attr-defined]
            (name, name) for name in sorted(zoneinfo.available_timezones())
        ]
