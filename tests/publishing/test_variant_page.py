"""The variant page: a market edits its variant; what HQ locked is shown read-only there."""

from __future__ import annotations

import pytest

from chorus.orgs.roles import Role
from chorus.publishing.models import Variant
from tests.conftest import member, owner_of
from tests.publishing.media_helpers import MENTION, global_post_with_locks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_market_sees_hqs_locked_fields_read_only_and_cannot_change_them(client):
    _org, france, _post, local, _other = global_post_with_locks()
    client.force_login(member(france, Role.EDITOR))
    page = f"/w/{france.slug}/publish/variants/{local.pk}/"

    html = client.get(page).content.decode()
    assert 'name="link_url" id="id_link_url" type="url" value="" readonly' in html
    assert html.count("Locked by HQ") == 2  # the link and the media
    assert 'name="text" id="id_text" rows="6" >' in html  # the text stays editable

    response = client.post(
        page, {"text": f"Soldes. {MENTION}", "link_url": "https://elsewhere.example"}
    )
    assert "The link is locked by" in response.content.decode()
    local.refresh_from_db()
    assert local.link == {}

    client.post(page, {"text": f"Soldes d'été. {MENTION}", "hashtags": "soldes"})
    local.refresh_from_db()
    assert (local.text, local.hashtags) == (f"Soldes d'été. {MENTION}", ["soldes"])


def test_hq_sees_the_same_variant_editable(client):
    org, france, _post, local, _other = global_post_with_locks()
    client.force_login(owner_of(org))

    html = client.get(f"/w/{france.slug}/publish/variants/{local.pk}/").content.decode()

    assert "Locked by HQ" not in html and "readonly" not in html


def test_the_variant_page_previews_its_own_fields_over_the_master(client):
    _org, france, _post, local, _other = global_post_with_locks()
    client.force_login(member(france, Role.EDITOR))

    fragment = client.post(
        f"/w/{france.slug}/publish/check/",
        {"variant": local.pk, "text": "Soldes !", "hashtags": "soldes"},
    ).content.decode()

    assert "Soldes !\n\n#soldes" in fragment
    assert "mandatory mention" in fragment  # the mention is missing
    assert Variant.objects.get(pk=local.pk).text != "Soldes !"  # a preview saves nothing
