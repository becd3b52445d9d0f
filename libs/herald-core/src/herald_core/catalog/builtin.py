"""The built-in catalog: every family's types, the categories, the crosswalk, in one value.

Categories follow Scalingo's `GET /v1/event_categories` (`app_operations` "App operations" and
`addons` "Addons" are Scalingo's own; the rest extend them for the other families' events).
Scalingo's category objects carry `name` (our `id`) and `display_name` (our `name`).
"""

from __future__ import annotations

from herald_core.catalog import clevercloud, cloud66, convox, crosswalk, herald, scalingo
from herald_core.catalog.model import Catalog, Category, Family
from herald_core.catalog.tables import build_types

CATEGORIES = (
    Category("app_operations", "App operations", 1),
    Category("deployments", "Deployments", 2),
    Category("addons", "Addons", 3),
    Category("alerts", "Alerts", 4),
    Category("collaborators", "Collaborators", 5),
    Category("notifiers", "Notifiers", 6),
    Category("domains", "Domains", 7),
    Category("variables", "Environment variables", 8),
    Category("scm", "SCM integrations", 9),
    Category("projects", "Projects", 10),
    Category("infrastructure", "Infrastructure", 11),
    Category("workflows", "Workflows", 12),
    Category("jobs", "Jobs", 13),
    Category("budget", "Budget", 14),
    Category("account", "Account and organisation", 15),
    Category("billing", "Billing", 16),
)

CATALOG = Catalog(
    types=(
        *build_types(scalingo.TABLE),
        *build_types(clevercloud.TABLE),
        *build_types(convox.TABLE),
        *build_types(cloud66.TABLE),
        *build_types(herald.TABLE),
    ),
    categories=CATEGORIES,
    aliases=crosswalk.ALIASES,
    groups=(*crosswalk.GROUPS, *clevercloud.META_EVENTS),
    legacy=scalingo.LEGACY_NAMES,
    alias_families=dict.fromkeys(clevercloud.ALIAS_IDS, Family.CLEVERCLOUD),
    resolutions=crosswalk.RESOLUTIONS,
)
