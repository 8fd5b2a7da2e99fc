"""What each role may do, as data. Groups are created by a migration; their permissions are
synchronised after every migrate so a new app's models join the roles that need them.

Entries are "app_label.codename" or patterns: "app_label.*" (all of an app), "*.view_*" (view
everything). Later apps add their lines here.
"""

from __future__ import annotations

import fnmatch

from django.contrib.auth.models import Group, Permission

from medservice.accounts.choices import Role

CATALOG_READ = ["catalog.view_*"]
# GSP: catalogue master data (suppliers, models, certificates) is changed by quality staff only.
CATALOG_WRITE = ["catalog.*"]
INSTALLED_BASE_READ = ["installed_base.view_*"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMINISTRATOR: [
        "accounts.*",
        "auth.*",
        "authtoken.*",
        "axes.*",
        "customers.*",
        "core.view_*",
        "core.add_legalhold",
        "core.change_legalhold",
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
    ],
    Role.SERVICE_MANAGER: [
        "customers.view_*",
        "customers.add_*",
        "customers.change_*",
        "customers.unmask_contact",
        "accounts.view_user",
        "core.view_auditevent",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.add_device",
        "installed_base.change_device",
        "installed_base.add_servicecontract",
        "installed_base.change_servicecontract",
        "installed_base.add_delivery",
        "installed_base.change_delivery",
        "installed_base.add_deliveryline",
        "installed_base.change_deliveryline",
    ],
    Role.SERVICE_AGENT: [
        "customers.view_*",
        "customers.add_*",
        "customers.change_*",
        "customers.unmask_contact",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.add_device",
        "installed_base.change_device",
    ],
    Role.FIELD_ENGINEER: [
        "customers.view_*",
        "customers.unmask_contact",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.change_device",
    ],
    Role.DISTRIBUTOR_ENGINEER: [
        "customers.view_organization",
        "customers.view_contact",
        "customers.view_department",
        *CATALOG_READ,
        "installed_base.view_device",
        "installed_base.view_servicecontract",
    ],
    Role.QUALITY_STAFF: [
        "customers.view_*",
        "customers.add_organization",
        "customers.change_organization",
        "customers.unmask_contact",
        "core.view_auditevent",
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
        "installed_base.add_hold",
        "installed_base.change_hold",
    ],
    Role.QUALITY_MANAGER: [
        "customers.view_*",
        "customers.unmask_contact",
        "core.view_auditevent",
        "core.view_signature",
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
        "installed_base.add_hold",
        "installed_base.change_hold",
    ],
    Role.WAREHOUSE_KEEPER: [
        "customers.view_organization",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.add_delivery",
        "installed_base.change_delivery",
        "installed_base.add_deliveryline",
        "installed_base.change_deliveryline",
        "installed_base.add_device",
        "installed_base.change_device",
    ],
    Role.FINANCE: [
        "customers.view_organization",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.change_servicecontract",
    ],
    Role.STORE_STAFF: ["customers.view_organization", *CATALOG_READ, "installed_base.view_device"],
    Role.AUDITOR: ["*.view_*"],
    Role.CUSTOMER_USER: [
        "customers.view_organization",
        "customers.view_contact",
        "customers.view_department",
        "installed_base.view_device",
        "installed_base.view_delivery",
        "installed_base.view_deliveryline",
        "installed_base.view_servicecontract",
        "catalog.view_devicemodel",
    ],
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
