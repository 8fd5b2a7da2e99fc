"""The administrator's webhook pages and the API: who may see and do what, the forms, the
delivery log's filters, redelivery, and the secret shown only on request (audited)."""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.core.models import AuditEvent
from medservice.integrations.models import WebhookDelivery, WebhookSubscription
from medservice.integrations.services import subscription_send_test
from tests.factories import user_with_role
from tests.integrations.factories import SECRET, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(receiver, administrator):
    return subscribe(administrator, receiver.url, name="ERP 接口")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.mark.parametrize("role", [Role.SERVICE_AGENT, Role.SERVICE_MANAGER, Role.QUALITY_MANAGER])
def test_other_internal_roles_reach_no_webhook_page(client, company, subscription, role):
    client.force_login(user_with_role(role, company, username="someone"))
    for url in (
        "/integrations/webhooks/",
        "/integrations/webhooks/new/",
        f"/integrations/webhooks/{subscription.pk}/",
        "/integrations/webhooks/deliveries/",
    ):
        assert client.get(url).status_code == 404, url


def test_a_customer_reaches_nothing_and_a_visitor_is_sent_to_sign_in(
    client, customer_a, hospital_a, subscription
):
    assert client.get("/integrations/webhooks/").status_code == 302
    client.force_login(customer_a)
    assert client.get("/integrations/webhooks/").status_code == 404
    assert client.get(f"/integrations/webhooks/{subscription.pk}/").status_code == 404


def test_the_auditor_reads_but_changes_nothing(client, auditor, subscription):
    client.force_login(auditor)
    assert client.get("/integrations/webhooks/").status_code == 200
    assert client.get(f"/integrations/webhooks/{subscription.pk}/").status_code == 200
    assert client.get("/integrations/webhooks/new/").status_code == 404
    response = client.post(f"/integrations/webhooks/{subscription.pk}/disable/", {"reason": "x"})
    assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.is_active is True


def test_the_administrator_creates_a_subscription_on_the_page(admin_client, administrator):
    response = admin_client.post(
        "/integrations/webhooks/new/",
        {
            "name": "设备科系统",
            "owner": administrator.pk,
            "target_url": "https://erp.example.com/hooks",
            "event_types": ["ticket.created", "work_order.completed"],
        },
    )
    created = WebhookSubscription.objects.get(name="设备科系统")
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/webhooks/{created.pk}/"
    assert (created.organization, created.owner, created.event_types, created.is_active) == (
        None,
        administrator,
        ["ticket.created", "work_order.completed"],
        True,
    )
    assert created.secret.startswith("whsec_")


def test_a_plain_http_receiver_is_refused_on_the_form(admin_client, administrator):
    response = admin_client.post(
        "/integrations/webhooks/new/",
        {
            "name": "设备科系统",
            "owner": administrator.pk,
            "target_url": "http://erp.example.com/hooks",
            "event_types": ["ticket.created"],
        },
    )
    assert response.status_code == 400
    assert "The URL must start with https://." in response.content.decode()
    assert WebhookSubscription.objects.count() == 0


def test_editing_keeps_the_secret_when_left_empty(admin_client, administrator, subscription):
    response = admin_client.post(
        f"/integrations/webhooks/{subscription.pk}/edit/",
        {
            "name": "ERP 接口",
            "owner": administrator.pk,
            "target_url": "https://erp.example.com/v2/hooks",
            "event_types": ["recall.progress"],
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.target_url, subscription.event_types, subscription.secret) == (
        "https://erp.example.com/v2/hooks",
        ["recall.progress"],
        SECRET,
    )


def test_disable_then_enable_from_the_page(admin_client, subscription):
    admin_client.post(f"/integrations/webhooks/{subscription.pk}/disable/", {"reason": "系统升级"})
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.disabled_reason) == (False, "系统升级")
    admin_client.post(f"/integrations/webhooks/{subscription.pk}/enable/")
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.disabled_at, subscription.disabled_reason) == (
        True,
        None,
        "",
    )


def test_the_test_button_sends_a_signed_ping(admin_client, receiver, subscription):
    response = admin_client.post(f"/integrations/webhooks/{subscription.pk}/test/", follow=True)
    assert "The test event was delivered (HTTP 200)." in response.content.decode()
    assert [(request.json["type"], request.signature_valid) for request in receiver.received] == [
        ("ping", True)
    ]


def test_the_secret_is_shown_only_on_request_and_audited(admin_client, administrator, subscription):
    page = admin_client.get(f"/integrations/webhooks/{subscription.pk}/").content.decode()
    assert SECRET not in page
    page = admin_client.post(
        f"/integrations/webhooks/{subscription.pk}/", {"reveal": "secret"}
    ).content.decode()
    assert f'<code id="webhook-secret">{SECRET}</code>' in page
    shown = AuditEvent.objects.get(action="unmask", object_type="integrations.webhooksubscription")
    assert (shown.actor, shown.detail, shown.object_id) == (
        administrator,
        "secret",
        str(subscription.pk),
    )


def test_the_delivery_log_filters_by_state_and_redelivers(
    admin_client, administrator, receiver, subscription
):
    receiver.answers = [500]
    failed = subscription_send_test(actor=administrator, subscription=subscription)
    delivered = subscription_send_test(actor=administrator, subscription=subscription)
    page = admin_client.get("/integrations/webhooks/deliveries/", {"state": "pending"})
    assert list(page.context["page"]) == [failed]
    page = admin_client.get("/integrations/webhooks/deliveries/", {"state": "delivered"})
    assert list(page.context["page"]) == [delivered]
    assert admin_client.get(f"/integrations/webhooks/deliveries/{failed.pk}/").status_code == 200
    admin_client.post(f"/integrations/webhooks/deliveries/{failed.pk}/redeliver/")
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.last_status_code) == ("delivered", 2, 200)


# --- API --------------------------------------------------------------------------------------


def test_the_api_lists_subscriptions_without_their_secret(api, administrator, subscription):
    response = api.as_user(administrator).get("/api/v1/webhook-subscriptions/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    row = response.json()["results"][0]
    assert "secret" not in row
    assert (row["id"], row["name"], row["is_active"], row["organization"]) == (
        subscription.pk,
        "ERP 接口",
        True,
        None,
    )


@pytest.mark.parametrize("url", ["/api/v1/webhook-subscriptions/", "/api/v1/webhook-deliveries/"])
def test_the_api_refuses_customers_and_other_roles(api, customer_a, agent, subscription, url):
    assert api.as_user(customer_a).get(url).status_code == 403
    assert api.as_user(agent).get(url).status_code == 403
    assert api.anonymous().get(url).status_code == 401


def test_the_api_filters_deliveries_and_redelivers(
    api, administrator, auditor, receiver, subscription
):
    receiver.answers = [503]
    failed = subscription_send_test(actor=administrator, subscription=subscription)
    subscription_send_test(actor=administrator, subscription=subscription)
    listed = api.as_user(auditor).get("/api/v1/webhook-deliveries/", {"state": "pending"})
    assert [row["id"] for row in listed.json()["results"]] == [failed.pk]
    assert listed.json()["results"][0]["last_status_code"] == 503
    # The auditor reads the log but may not redeliver
    refused = api.as_user(auditor).post(f"/api/v1/webhook-deliveries/{failed.pk}/redeliver/")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    response = api.as_user(administrator).post(f"/api/v1/webhook-deliveries/{failed.pk}/redeliver/")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["attempts"]) == ("delivered", 2)
    assert WebhookDelivery.objects.filter(state="delivered").count() == 2
