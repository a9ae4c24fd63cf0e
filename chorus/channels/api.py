from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from chorus.api.auth import actor
from chorus.api.pagination import PageParams, paginate
from chorus.channels import selectors, services
from chorus.channels.models import Channel
from chorus.orgs.access import workspace_for

router = Router(tags=["channels"])


class ChannelOut(Schema):
    id: int
    workspace: str
    network: str
    service_url: str
    remote_id: str
    handle: str
    display_name: str
    avatar_url: str
    kind: str
    status: str
    scopes: list[str]
    token_expires_at: datetime | None
    last_ok_at: datetime | None
    last_error: str

    @staticmethod
    def build(channel: Channel) -> ChannelOut:
        return ChannelOut(
            id=channel.pk,
            workspace=channel.workspace.slug,
            network=channel.network,
            service_url=channel.service_url,
            remote_id=channel.remote_id,
            handle=channel.handle,
            display_name=channel.display_name,
            avatar_url=channel.avatar_url,
            kind=channel.kind,
            status=channel.status,
            scopes=list(channel.scopes),
            token_expires_at=channel.token_expires_at,
            last_ok_at=channel.last_ok_at,
            last_error=channel.last_error,
        )


class ChannelPage(Schema):
    items: list[ChannelOut]
    next_cursor: str | None


class ChannelFilter(Schema):
    workspace: str | None = Field(None, description="this workspace and its sub-workspaces")


class BlueskyIn(Schema):
    network: Literal["bluesky"]
    workspace: str
    handle: str
    app_password: str = Field(description="never returned, stored encrypted")
    service_url: str = ""


class MastodonIn(Schema):
    network: Literal["mastodon"]
    workspace: str
    instance_url: str
    access_token: str = Field(description="never returned, stored encrypted")


@router.get("/channels", response=ChannelPage)
def list_channels(
    request: HttpRequest, filters: Query[ChannelFilter], page: Query[PageParams]
) -> dict:
    who = actor(request)
    workspace = workspace_for(who, filters.workspace) if filters.workspace else None
    result = paginate(selectors.channels(who, workspace), page)
    result["items"] = [ChannelOut.build(channel) for channel in result["items"]]
    return result


@router.post("/channels", response={201: ChannelOut})
def connect_channel(request: HttpRequest, payload: BlueskyIn | MastodonIn) -> Status[ChannelOut]:
    """Connects an account with an app password (Bluesky) or an access token (Mastodon)."""
    who = actor(request)
    workspace = workspace_for(who, payload.workspace)
    if isinstance(payload, BlueskyIn):
        channel = services.connect_bluesky(
            who,
            workspace,
            handle=payload.handle,
            app_password=payload.app_password,
            service_url=payload.service_url,
        )
    else:
        channel = services.connect_mastodon(
            who, workspace, instance_url=payload.instance_url, access_token=payload.access_token
        )
    return Status(201, ChannelOut.build(channel))


@router.get("/channels/{channel_id}", response=ChannelOut)
def get_channel(request: HttpRequest, channel_id: int) -> ChannelOut:
    return ChannelOut.build(selectors.channel(actor(request), channel_id))


@router.post("/channels/{channel_id}/disconnect", response=ChannelOut)
def disconnect_channel(request: HttpRequest, channel_id: int) -> ChannelOut:
    who = actor(request)
    return ChannelOut.build(services.disconnect(who, selectors.channel(who, channel_id)))
