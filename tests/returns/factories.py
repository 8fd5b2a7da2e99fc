"""Returns made directly (tests of the rules go through the services)."""

from __future__ import annotations

import factory

from medservice.returns.choices import ItemCondition, ReturnReason
from medservice.returns.models import ReturnLine, ReturnRequest
from tests.factories import OrganizationFactory
from tests.installed_base.factories import DeviceFactory


class ReturnRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReturnRequest
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    reason = ReturnReason.FAULTY
    fault_description = "开机黑屏"

    @factory.post_generation
    def line(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            device = DeviceFactory(organization=self.organization)
            ReturnLine.objects.create(
                request=self, device=device, device_model=device.device_model,
                serial_number=device.serial_number, batch_number=device.batch_number,
                condition=ItemCondition.OPENED,
            )  # fmt: skip
