"""The REST API under /api/v1: one NinjaAPI, one router per domain app."""

from ninja import NinjaAPI

from chorus.api.auth import api_auth
from chorus.api.errors import install

api = NinjaAPI(
    title="Chorus API",
    version="1",
    urls_namespace="api",
    auth=api_auth,
    docs_url="/docs",
    description=(
        "Authenticate with `Authorization: Bearer <token>` (create tokens under Settings › API tokens "
        "or with `chorus token create`). Errors share one envelope; lists use cursor pagination."
    ),
)
install(api)


def _mount_routers() -> None:
    from chorus.channels.api import router as channels_router
    from chorus.listening.api import router as listening_router
    from chorus.orgs.api import router as orgs_router
    from chorus.publishing.api import router as publishing_router
    from chorus.publishing.media_api import router as media_router

    api.add_router("", orgs_router)
    api.add_router("", channels_router)
    api.add_router("", publishing_router)
    api.add_router("", media_router)
    api.add_router("", listening_router)


_mount_routers()
