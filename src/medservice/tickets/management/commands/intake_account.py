"""`medservice intake-account NAME [--organization ID] [--rotate]`: the service user a call
centre or a WeChat bridge signs in with for the inbound intake API, and its API token.

The account has the "integration" role only and no usable password: it cannot sign in to the
pages. It belongs to the company (or to the organisation given, e.g. a distributor whose call
centre only sees the customers it serves), which decides what its hints may match."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from medservice.accounts.models import User
from medservice.accounts.roles import INTEGRATION_ROLE, roles_sync
from medservice.core.context import audit_context
from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Organization


class Command(BaseCommand):
    help = (
        "Create (or show) the integration account a call centre or WeChat bridge uses for "
        "POST /api/v1/intake/tickets/, and print its API token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="username of the integration account, e.g. callcentre")
        parser.add_argument(
            "--organization", type=int, help="organisation id (default: the company)"
        )
        parser.add_argument(
            "--rotate", action="store_true", help="replace the token (the old one stops working)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("Give the account a name.")
        organization = self._organization(options.get("organization"))
        with transaction.atomic(), audit_context(job="tickets.intake-account"):
            if not Group.objects.filter(name=INTEGRATION_ROLE).exists():
                roles_sync()
            user, created = User.objects.get_or_create(
                username=name,
                defaults={"organization": organization, "first_name": name, "language": "en"},
            )
            if created:
                user.set_unusable_password()
                user.save()
            elif user.has_usable_password() or user.roles - {INTEGRATION_ROLE}:
                raise CommandError(
                    f"{name} is an existing user who signs in or has other roles; "
                    "choose another name for the integration account."
                )
            user.groups.add(Group.objects.get(name=INTEGRATION_ROLE))
            if options["rotate"]:
                Token.objects.filter(user=user).delete()
            token, _created = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)

    def _organization(self, pk: int | None) -> Organization:
        if pk is not None:
            organization = Organization.objects.filter(pk=pk).first()
            if organization is None:
                raise CommandError(f"There is no organisation {pk}.")
            return organization
        organization = (
            Organization.objects.filter(kind=OrganizationKind.COMPANY, parent__isnull=True)
            .order_by("pk")
            .first()
        )
        if organization is None:
            raise CommandError("No company organisation exists yet; give --organization.")
        return organization
