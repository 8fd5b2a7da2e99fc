"""The audit trail: every write leaves an event in the same transaction; the chain is verifiable."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from medservice.accounts.choices import Role
from medservice.core.audit import audit_seal_pending, audit_verify_chain
from medservice.core.context import audit_context
from medservice.core.models import AuditEvent, AuditSeal
from medservice.core.services import record_create, record_delete, record_update
from medservice.customers.models import Organization
from tests.factories import OrganizationFactory, user_with_role
from tests.testapp.models import ServiceRecord


def events_for(obj) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk)
        ).order_by("id")
    )


@pytest.mark.django_db
def test_create_update_delete_each_write_an_event_with_field_values(agent):
    organization = record_create(
        actor=agent,
        model=Organization,
        data={"kind": "hospital", "name": "市第一人民医院", "region": "上海"},
    )
    record_update(actor=agent, instance=organization, data={"region": "杭州"}, expected_version=1)
    record_delete(
        actor=agent, instance=Organization.objects.get(pk=organization.pk), reason="重复录入"
    )

    created, updated, deleted = events_for(organization)
    assert (created.action, created.actor_id, created.changes["name"]) == (
        "create",
        agent.pk,
        [None, "市第一人民医院"],
    )
    assert (updated.action, updated.changes) == ("update", {"region": ["上海", "杭州"]})
    assert (deleted.action, deleted.reason, deleted.changes["name"]) == (
        "delete",
        "重复录入",
        ["市第一人民医院", None],
    )
    assert created.actor_label == "王小明"


@pytest.mark.django_db
def test_a_save_without_changes_writes_no_event():
    organization = OrganizationFactory()
    before = AuditEvent.objects.count()
    Organization.objects.get(pk=organization.pk).save()
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_job_is_recorded_as_the_actor_of_its_writes():
    with audit_context(job="pm-generation"):
        organization = OrganizationFactory()
    (event,) = events_for(organization)
    assert (event.actor_id, event.job) == (None, "pm-generation")


@pytest.mark.django_db
def test_bulk_update_writes_one_event_per_row():
    first, second = OrganizationFactory(region="上海"), OrganizationFactory(region="上海")
    Organization.objects.filter(pk__in=[first.pk, second.pk]).update(region="南京")
    for organization in (first, second):
        last = events_for(organization)[-1]
        assert (last.action, last.changes) == ("update", {"region": ["上海", "南京"]})


@pytest.mark.django_db
def test_bulk_create_writes_one_event_per_row():
    created = Organization.objects.bulk_create(
        [Organization(kind="clinic", name="甲诊所"), Organization(kind="clinic", name="乙诊所")]
    )
    assert [events_for(item)[0].changes["name"][1] for item in created] == ["甲诊所", "乙诊所"]


@pytest.mark.django_db
def test_a_failed_transaction_leaves_no_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        OrganizationFactory(name="回滚医院")
        raise RuntimeError("rolled back")
    assert not AuditEvent.objects.filter(object_repr="回滚医院").exists()


@pytest.mark.django_db
def test_the_request_id_and_client_address_are_recorded(client, administrator):
    client.force_login(administrator)
    response = client.post(
        "/customers/organizations/new/",
        {"kind": "clinic", "name": "阳光诊所", "region": "南京"},
        HTTP_X_REQUEST_ID="req-42",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_repr="阳光诊所")
    assert (event.request_id, event.client_address, event.actor_id) == (
        "req-42",
        "10.1.2.3",
        administrator.pk,
    )


@pytest.mark.django_db
def test_sealed_chain_verifies_and_a_second_seal_adds_nothing():
    OrganizationFactory.create_batch(3)
    sealed = audit_seal_pending()
    assert sealed == AuditEvent.objects.count()
    assert audit_seal_pending() == 0
    report = audit_verify_chain()
    assert (report.ok, report.checked, report.pending) == (True, sealed, 0)


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser bypassing the append-only trigger, as an attacker with the keys would.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_verify_audit_names_the_first_event_edited_by_hand_in_sql(capsys):
    organizations = OrganizationFactory.create_batch(3)
    audit_seal_pending()
    target = events_for(organizations[1])[0]
    _tamper("UPDATE core_auditevent SET reason = %s WHERE id = %s", ["forged", target.pk])

    with pytest.raises(CommandError) as error:
        call_command("verify-audit".replace("-", "_"))
    assert f"first broken event: {target.pk}" in str(error.value)
    assert audit_verify_chain().first_broken_event_id == target.pk


@pytest.mark.django_db
def test_verify_audit_reports_an_intact_chain(capsys):
    OrganizationFactory()
    call_command("verify_audit", "--seal")
    assert "Audit chain intact: 1 events verified, 0 not yet sealed." in capsys.readouterr().out


@pytest.mark.django_db
def test_postgresql_refuses_update_and_delete_of_audit_events():
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (DESIGN.md); SQLite has none")
    OrganizationFactory()
    event = AuditEvent.objects.first()
    from django.db.utils import DatabaseError

    for sql in (
        "UPDATE core_auditevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])


@pytest.mark.django_db
def test_the_admin_offers_no_way_to_change_or_delete_events(client, company):
    OrganizationFactory()
    event = AuditEvent.objects.first()
    # 等保 2.0: reading the trail is the audit administrator's job (issue 12).
    client.force_login(user_with_role(Role.AUDIT_ADMINISTRATOR, company, is_staff=True))
    assert client.get(f"/admin/core/auditevent/{event.pk}/change/").status_code == 200
    assert client.post(f"/admin/core/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_leave_one_valid_chain():
    """Writers in parallel transactions never fork the chain; two sealers never double-link."""
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for step in range(5):
                with transaction.atomic():
                    Organization.objects.create(kind="clinic", name=f"并发诊所 {index}-{step}")
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            for _ in range(5):
                audit_seal_pending(batch_size=3)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    audit_seal_pending()

    report = audit_verify_chain()
    assert (report.ok, report.checked, report.pending) == (True, 20, 0)
    assert sorted(AuditSeal.objects.values_list("chain_index", flat=True)) == list(range(1, 21))


@pytest.mark.django_db
def test_loading_records_takes_no_audit_snapshot_until_one_is_saved():
    OrganizationFactory.create_batch(3)

    loaded = list(Organization.objects.order_by("pk"))

    assert [("_audit_snapshot" in row.__dict__) for row in loaded] == [False, False, False]
    loaded[0].region = "杭州"
    loaded[0].save()
    assert "_audit_snapshot" in loaded[0].__dict__
    assert events_for(loaded[0])[-1].changes["region"][1] == "杭州"


@pytest.mark.django_db
def test_a_json_value_changed_in_place_after_loading_is_diffed_against_the_loaded_value():
    organization = OrganizationFactory()
    record = ServiceRecord.objects.create(
        organization=organization, title="PM", checklist={"battery": "ok"}
    )
    loaded = ServiceRecord.objects.get(pk=record.pk)

    loaded.checklist["battery"] = "replaced"
    loaded.save()

    assert events_for(record)[-1].changes == {
        "checklist": [{"battery": "ok"}, {"battery": "replaced"}]
    }


@pytest.mark.django_db
def test_a_save_after_refresh_from_db_diffs_against_the_reloaded_values():
    organization = OrganizationFactory(region="上海")
    stale = Organization.objects.get(pk=organization.pk)
    Organization.objects.filter(pk=organization.pk).update(region="杭州")

    stale.refresh_from_db()
    stale.region = "南京"
    stale.save()

    assert events_for(organization)[-1].changes == {"region": ["杭州", "南京"]}


@pytest.mark.django_db
def test_a_deferred_field_loaded_later_joins_the_snapshot():
    organization = OrganizationFactory(region="上海", name="县中医院")
    partial = Organization.objects.only("pk", "name").get(pk=organization.pk)

    assert partial.region == "上海"  # loads the deferred field
    partial.region = "杭州"
    partial.save()

    assert events_for(organization)[-1].changes == {"region": ["上海", "杭州"]}
