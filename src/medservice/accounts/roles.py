"""What each role may do, as data. Groups are created by a migration; their permissions are
synchronised after every migrate so a new app's models join the roles that need them.

Entries are "app_label.codename" or patterns: "app_label.*" (all of an app), "*.view_*" (view
everything). Later apps add their lines here.
"""

from __future__ import annotations

import fnmatch

from django.contrib.auth.models import Group, Permission

from medservice.accounts.choices import Role

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMINISTRATOR: [
        "accounts.*",
        "auth.*",
        "authtoken.*",
        "customers.*",
        "core.view_*",
        "core.add_legalhold",
        "core.change_legalhold",
    ],
    Role.SERVICE_MANAGER: [
        "customers.view_*",
        "customers.add_organization",
        "customers.change_organization",
        "accounts.view_user",
        "core.view_auditevent",
    ],
    Role.SERVICE_AGENT: [
        "customers.view_*",
        "customers.add_organization",
        "customers.change_organization",
    ],
    Role.FIELD_ENGINEER: ["customers.view_*"],
    Role.DISTRIBUTOR_ENGINEER: ["customers.view_organization"],
    Role.QUALITY_STAFF: [
        "customers.view_*",
        "customers.add_organization",
        "customers.change_organization",
        "core.view_auditevent",
    ],
    Role.QUALITY_MANAGER: ["customers.view_*", "core.view_auditevent", "core.view_signature"],
    Role.WAREHOUSE_KEEPER: ["customers.view_organization"],
    Role.FINANCE: ["customers.view_organization"],
    Role.STORE_STAFF: ["customers.view_organization"],
    Role.AUDITOR: ["*.view_*"],
    Role.CUSTOMER_USER: ["customers.view_organization"],
}


def permissions_matching(patterns: list[str], permissions: list[Permission]) -> list[Permission]:
    chosen = []
    for permission in permissions:
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            chosen.append(permission)
    return chosen


def roles_sync(*, using: str = "default") -> None:
    permissions = list(Permission.objects.using(using).select_related("content_type"))
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=str(role))
        group.permissions.set(permissions_matching(patterns, permissions))
