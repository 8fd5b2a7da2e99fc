"""Electronic signatures freeze what they sign; corrections are new revisions."""

from __future__ import annotations

import pytest

from medservice.core.errors import FrozenRecordError, InvalidInputError, SignatureError
from medservice.core.models import AuditEvent
from medservice.core.signatures import (
    record_revise,
    signature_is_intact,
    signature_sign,
    signatures_of,
)
from tests.factories import PASSWORD
from tests.testapp.models import ServiceRecord


@pytest.fixture
def record(hospital_a):
    return ServiceRecord.objects.create(organization=hospital_a, title="监护仪维修报告")


@pytest.mark.django_db
def test_an_internal_signature_records_name_time_meaning_and_content_hash(record, manager):
    signature = signature_sign(
        actor=manager, record=record, meaning="批准 / Approved", password=PASSWORD
    )
    record.refresh_from_db()
    assert (signature.printed_name, signature.meaning, signature.signer_id) == (
        "王小明",
        "批准 / Approved",
        manager.pk,
    )
    assert record.signed_at == signature.signed_at
    assert len(signature.content_hash) == 64
    assert signature_is_intact(signature, record)
    assert AuditEvent.objects.filter(object_id=str(record.pk), action="sign").count() == 1


@pytest.mark.django_db
def test_a_wrong_password_signs_nothing(record, manager):
    with pytest.raises(SignatureError) as error:
        signature_sign(actor=manager, record=record, meaning="Approved", password="guess")
    assert error.value.fields == {"password": ["The password is not correct."]}
    record.refresh_from_db()
    assert (record.signed_at, signatures_of(record)) == (None, [])


@pytest.mark.django_db
def test_a_customer_signature_needs_a_printed_name(record):
    with pytest.raises(InvalidInputError):
        signature_sign(
            actor=None,
            record=record,
            meaning="服务已完成",
            signer_kind="customer",
            printed_name=" ",
        )
    signature = signature_sign(
        actor=None,
        record=record,
        meaning="服务已完成",
        signer_kind="customer",
        printed_name="钱护士长",
    )
    assert (signature.printed_name, signature.signer_id) == ("钱护士长", None)


@pytest.mark.django_db
def test_a_signed_record_is_frozen_except_its_declared_mutable_fields(record, manager):
    signature_sign(actor=manager, record=record, meaning="Approved", password=PASSWORD)
    frozen = ServiceRecord.objects.get(pk=record.pk)
    frozen.title = "改过的标题"
    with pytest.raises(FrozenRecordError) as error:
        frozen.save()
    assert error.value.changed == ["title"]
    assert ServiceRecord.objects.get(pk=record.pk).title == "监护仪维修报告"

    moving_on = ServiceRecord.objects.get(pk=record.pk)
    moving_on.status = "closed"
    moving_on.save()
    assert ServiceRecord.objects.get(pk=record.pk).status == "closed"


@pytest.mark.django_db
def test_a_record_cannot_be_signed_twice(record, manager):
    signature_sign(actor=manager, record=record, meaning="Approved", password=PASSWORD)
    with pytest.raises(SignatureError):
        signature_sign(actor=manager, record=record, meaning="Approved", password=PASSWORD)


@pytest.mark.django_db
def test_a_revision_corrects_a_signed_record_and_keeps_the_original(record, manager):
    signature_sign(actor=manager, record=record, meaning="Approved", password=PASSWORD)
    revision = record_revise(
        actor=manager, record=record, reason="型号写错", changes={"title": "监护仪维修报告（更正）"}
    )
    assert (revision.revision, revision.supersedes_id, revision.signed_at) == (2, record.pk, None)
    assert ServiceRecord.objects.get(pk=record.pk).title == "监护仪维修报告"
    with pytest.raises(SignatureError):
        record_revise(actor=manager, record=record, reason="again", changes={})
