"""A campaign's link-tracking parameters (``utm_source={network}&utm_campaign=summer``), added
to the link of every post of the campaign so that analytics can tell where a click came from."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _

from chorus.errors import Invalid

#: Replaced by the channel's network (``bluesky``, ``linkedin``…) in a parameter's value.
NETWORK_PLACEHOLDER = "{network}"


def parse(parameters: str) -> list[tuple[str, str]]:
    """The parameters of ``name=value&name=value``; refuses what a link could not carry."""
    text = parameters.strip().lstrip("?")
    if not text:
        return []
    try:
        pairs = parse_qsl(text, keep_blank_values=False, strict_parsing=True)
    except ValueError:
        pairs = []
    if not pairs or any(not name.strip() or not value.strip() for name, value in pairs):
        raise Invalid(
            _("Write the tracking parameters as name=value pairs joined by &."),
            fields={"link_tracking": _("For example utm_source={network}&utm_medium=social.")},
        )
    return pairs


def tracked(url: str, parameters: str, network: str) -> str:
    """``url`` with the parameters it does not set itself (the author's own values win)."""
    pairs = parse(parameters)
    if not pairs:
        return url
    parts = urlsplit(url)
    present = parse_qsl(parts.query, keep_blank_values=True)
    names = {name for name, _value in present}
    added = [
        (name, value.replace(NETWORK_PLACEHOLDER, network or "social"))
        for name, value in pairs
        if name not in names
    ]
    return urlunsplit(parts._replace(query=urlencode([*present, *added])))
