"""Factories for the foundation's records; later apps add theirs beside them."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from medservice.accounts.choices import Role
from medservice.accounts.models import User
from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Contact, Department, Organization

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    kind = OrganizationKind.HOSPITAL
    name = factory.Sequence(lambda n: f"第{n}人民医院")
    region = "上海"


class CompanyFactory(OrganizationFactory):
    kind = OrganizationKind.COMPANY
    name = factory.Sequence(lambda n: f"康达医疗 {n}")


class DistributorFactory(OrganizationFactory):
    kind = OrganizationKind.DISTRIBUTOR
    name = factory.Sequence(lambda n: f"经销商 {n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"科室{n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    role = "护士长"
    phone = factory.Sequence(lambda n: f"1380013{n:04d}")
    email = factory.Sequence(lambda n: f"contact{n}@hospital.example.cn")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        contact = model_class(*args, **kwargs)
        contact.refresh_indexes()
        contact.save()
        return contact


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = "小明"
    last_name = "王"
    organization = factory.SubFactory(CompanyFactory)
    language = "en"

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=str(extracted)))


def user_with_role(role: Role, organization: Organization | None = None, **fields: object) -> User:
    if organization is not None:
        fields["organization"] = organization
    return UserFactory(role=role, **fields)
