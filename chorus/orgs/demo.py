"""A demo organisation shaped like the brief: a group, its brands, countries and sites.

An energy group runs many accounts across brands, countries and plants; every role is held
by someone, so each screen of the product has something to show.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from chorus.errors import Conflict
from chorus.orgs import services
from chorus.orgs.access import Actor
from chorus.orgs.models import Organisation, User, Workspace
from chorus.orgs.roles import Role

DEMO_SLUG = "demo-lumen-group"
DEMO_PASSWORD = "demo-chorus-2026"  # noqa: S105 - printed by `chorus demo`; demo data only


@dataclass(frozen=True)
class Node:
    name: str
    slug: str
    locale: str
    tz: str
    children: tuple[Node, ...] = ()


TREE = Node(
    "Lumen Group (demo)",
    DEMO_SLUG,
    "fr",
    "Europe/Paris",
    (
        Node(
            "Lumen Energy",
            "demo-lumen-energy",
            "fr",
            "Europe/Paris",
            (
                Node(
                    "France",
                    "demo-energy-france",
                    "fr",
                    "Europe/Paris",
                    (
                        Node(
                            "Saint-Aubin power plant", "demo-site-saint-aubin", "fr", "Europe/Paris"
                        ),
                        Node("Val-de-Loire plant", "demo-site-val-de-loire", "fr", "Europe/Paris"),
                        Node("Lyon customer service", "demo-site-lyon-care", "fr", "Europe/Paris"),
                    ),
                ),
                Node(
                    "Belgium",
                    "demo-energy-belgium",
                    "fr",
                    "Europe/Brussels",
                    (Node("Antwerp terminal", "demo-site-antwerp", "en", "Europe/Brussels"),),
                ),
                Node(
                    "United Kingdom",
                    "demo-energy-uk",
                    "en",
                    "Europe/London",
                    (Node("Bristol wind farm", "demo-site-bristol", "en", "Europe/London"),),
                ),
            ),
        ),
        Node(
            "Lumen Mobility",
            "demo-lumen-mobility",
            "en",
            "Europe/Paris",
            (
                Node("France", "demo-mobility-france", "fr", "Europe/Paris"),
                Node(
                    "United States",
                    "demo-mobility-us",
                    "en",
                    "America/New_York",
                    (Node("New York office", "demo-site-new-york", "en", "America/New_York"),),
                ),
            ),
        ),
        Node("Lumen Careers", "demo-lumen-careers", "fr", "Europe/Paris"),
    ),
)

PEOPLE = [
    ("claire.owner@demo.chorus.localhost", "Claire Martin", DEMO_SLUG, Role.OWNER),
    ("hugo.admin@demo.chorus.localhost", "Hugo Bernard", DEMO_SLUG, Role.ADMIN),
    ("ines.manager@demo.chorus.localhost", "Inès Petit", "demo-lumen-energy", Role.MANAGER),
    ("lucas.editor@demo.chorus.localhost", "Lucas Moreau", "demo-energy-france", Role.EDITOR),
    (
        "emma.contributor@demo.chorus.localhost",
        "Emma Laurent",
        "demo-site-saint-aubin",
        Role.CONTRIBUTOR,
    ),
    ("noah.analyst@demo.chorus.localhost", "Noah Garcia", DEMO_SLUG, Role.ANALYST),
    ("lea.ambassador@demo.chorus.localhost", "Léa Roux", "demo-lumen-careers", Role.AMBASSADOR),
    ("sam.editor@demo.chorus.localhost", "Sam Taylor", "demo-energy-uk", Role.EDITOR),
    ("olivia.manager@demo.chorus.localhost", "Olivia Brown", "demo-mobility-us", Role.MANAGER),
]


@transaction.atomic
def load_demo() -> list[tuple[str, str]]:
    """Creates the demo organisation; returns (e-mail, role) of the demo people."""
    if Organisation.objects.filter(slug=DEMO_SLUG).exists():
        raise Conflict("The demo organisation is already loaded (slug demo-lumen-group).")
    users = {
        email: User.objects.filter(email=email).first()
        or User.objects.create_user(email, DEMO_PASSWORD, display_name=name)
        for email, name, _slug, _role in PEOPLE
    }
    owner = users[PEOPLE[0][0]]
    root = services.create_organisation(
        owner=owner,
        name=TREE.name,
        slug=TREE.slug,
        timezone_name=TREE.tz,
        default_locale=TREE.locale,
        is_demo=True,
    )
    actor = Actor(owner)
    _grow(actor, root, TREE.children)
    for email, _name, slug, role in PEOPLE[1:]:
        services.set_role(actor, Workspace.objects.get(slug=slug), users[email], role)
    # Anyone already running this install (the first owner) gets to see the demo too.
    for admin in User.objects.filter(is_superuser=True).exclude(email__in=users):
        services.set_role(actor, root, admin, Role.OWNER)
    return [(email, role) for email, _name, _slug, role in PEOPLE]


def _grow(actor: Actor, parent: Workspace, children: tuple[Node, ...]) -> None:
    for node in children:
        child = services.create_workspace(
            actor,
            parent=parent,
            name=node.name,
            slug=node.slug,
            default_locale=node.locale,
            timezone_name=node.tz,
        )
        _grow(actor, child, node.children)
