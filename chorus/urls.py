from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.i18n import set_language

from chorus.api import api
from chorus.api.errors import unknown_route
from chorus.channels import bluesky_views
from chorus.channels import views as channels
from chorus.orgs import views as orgs
from chorus.publishing import approval_views as approvals
from chorus.publishing import calendar_views as calendar
from chorus.publishing import campaign_views as campaigns
from chorus.publishing import composer, library_views, slots_views
from chorus.publishing import glocal_views as glocal
from chorus.publishing import views as publishing
from chorus.web import views as web

AREAS = "|".join(web.AREAS)
OAUTH = "|".join(channels.OAUTH_NETWORKS)

workspace_urls = [
    path("", web.dashboard, name="dashboard"),
    # The Publish area is served by chorus.publishing (listed before the empty area pages).
    path("publish/", publishing.publish, name="publish"),
    path("publish/new/", composer.compose, name="post-compose"),
    path("publish/check/", composer.check, name="post-check"),
    path("publish/variants/<int:variant_id>/", composer.edit_variant, name="variant-edit"),
    path("publish/media/", library_views.library, name="media-library"),
    path("publish/media/<int:media_id>/file/", library_views.media_file, name="media-file"),
    path("publish/media/<int:media_id>/alt-text/", library_views.alt_text, name="media-alt-text"),
    path("publish/media/<int:media_id>/delete/", library_views.delete, name="media-delete"),
    path("publish/approvals/", approvals.approval_rule, name="publish-approval-rule"),
    path("publish/queues/", slots_views.queues, name="publish-slots"),
    path("publish/pause/", publishing.pause, name="publishing-pause"),
    path("publish/resume/", publishing.resume, name="publishing-resume"),
    path("publish/posts/<int:post_id>/approve/", publishing.approve, name="post-approve"),
    path("publish/posts/<int:post_id>/reject/", publishing.reject, name="post-reject"),
    path("publish/posts/<int:post_id>/cancel/", publishing.cancel, name="post-cancel"),
    path("publish/posts/<int:post_id>/markets/", glocal.markets, name="post-markets"),
    path(
        "publish/posts/<int:post_id>/markets/decide/",
        glocal.market_decision,
        name="post-market-decision",
    ),
    path("publish/posts/<int:post_id>/adapt/", glocal.adapt, name="post-adapt"),
    path("publish/posts/<int:post_id>/comments/", glocal.comment, name="post-comment"),
    path("publish/campaigns/", campaigns.campaigns, name="publish-campaigns"),
    path(
        "publish/campaigns/<int:campaign_id>/",
        campaigns.campaign_detail,
        name="publish-campaign",
    ),
    path("publish/calendar/", calendar.calendar, name="publish-calendar"),
    path("publish/calendar/export.csv", calendar.calendar_export, name="publish-calendar-export"),
    path("publish/calendar/feed/", calendar.calendar_feed, name="publish-calendar-feed"),
    path(
        "publish/calendar/deliveries/<int:delivery_id>/move/",
        calendar.move_delivery,
        name="delivery-move",
    ),
    path("publish/import/", calendar.import_posts, name="publish-import"),
    path("publish/import/template.csv", calendar.import_template, name="publish-import-template"),
    re_path(rf"^(?P<area>{AREAS})/$", web.area, name="area"),
    path("channels/", channels.channel_list, name="channels"),
    re_path(
        r"^channels/connect/(?P<network>bluesky|mastodon)/$",
        channels.connect,
        name="channel-connect",
    ),
    re_path(
        rf"^channels/oauth/(?P<network>{OAUTH})/$", channels.oauth_start, name="channel-oauth-start"
    ),
    path("channels/oauth/mastodon/", channels.mastodon_oauth_start, name="channel-mastodon-oauth"),
    path("channels/oauth/bluesky/", bluesky_views.oauth_start, name="channel-bluesky-oauth"),
    path("channels/oauth/pick/<str:grant>/", channels.oauth_pick, name="channel-oauth-pick"),
    path("channels/<int:channel_id>/", channels.channel_detail, name="channel-detail"),
    path("channels/<int:channel_id>/disconnect/", channels.disconnect, name="channel-disconnect"),
    path("settings/", orgs.workspace_settings, name="workspace-settings"),
    path("settings/delete/", orgs.delete_workspace, name="workspace-delete"),
    path("settings/members/", orgs.members, name="members"),
    path("settings/members/<int:membership_id>/role/", orgs.change_role, name="member-role"),
    path("settings/members/<int:membership_id>/remove/", orgs.remove_member, name="member-remove"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        orgs.revoke_invitation,
        name="invitation-revoke",
    ),
    path("settings/audit/", orgs.audit_log, name="audit"),
]

urlpatterns = [
    path("healthz", web.healthz, name="healthz"),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", unknown_route),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", web.home, name="home"),
    path("w/<slug:slug>/", include(workspace_urls)),
    path("account/tokens/", orgs.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", orgs.revoke_token, name="token-revoke"),
    path("invitations/<str:secret>/", orgs.accept_invitation, name="invitation-accept"),
    path("approvals/<str:token>/", glocal.approval_link, name="approval-link"),
    path("media/p/<str:token>/<str:filename>", library_views.public_media, name="media-public"),
    path("feeds/calendar/<str:secret>.ics", calendar.calendar_feed_ics, name="calendar-feed-ics"),
    path(
        "channels/oauth/bluesky/client-metadata.json",
        bluesky_views.client_metadata_document,
        name="bluesky-client-metadata",
    ),
    path(
        "channels/oauth/bluesky/callback/",
        bluesky_views.oauth_callback,
        name="channel-bluesky-oauth-callback",
    ),
    re_path(
        rf"^channels/oauth/(?P<network>{OAUTH}|mastodon)/callback/$",
        channels.oauth_callback,
        name="channel-oauth-callback",
    ),
]
