"""The administrator's webhook pages (/integrations/webhooks/): subscriptions, test events, the
delivery log and redelivery. Each page starts from the selectors; the services decide."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.integrations import services
from medservice.integrations.choices import DeliveryState
from medservice.integrations.forms import DeliveryFilterForm, SubscriptionForm
from medservice.integrations.models import WebhookSubscription
from medservice.integrations.selectors import (
    webhook_deliveries_visible_to,
    webhook_subscriptions_visible_to,
)

PAGE_SIZE = 50
VIEW = "integrations.view_webhooksubscription"
CHANGE = "integrations.change_webhooksubscription"
REDELIVER = "integrations.redeliver_webhookdelivery"


def _require(request: HttpRequest, permission: str) -> None:
    # A page the role may not use answers like a record outside its scope (as core's views).
    if not request.user.has_perm(permission):
        raise Http404


def _subscription(request: HttpRequest, pk: int) -> WebhookSubscription:
    return get_object_or_404(
        webhook_subscriptions_visible_to(request.user).select_related("organization", "owner"),
        pk=pk,
    )


def _form_errors(form: Any, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    subscriptions = webhook_subscriptions_visible_to(request.user).select_related(
        "organization", "owner"
    )
    page = Paginator(subscriptions.order_by("name", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "integrations/subscription_list.html",
        {"page": page, "can_change": request.user.has_perm(CHANGE)},
    )


@login_required
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW)
    subscription = _subscription(request, pk)
    secret = ""
    if request.method == "POST" and request.POST.get("reveal") == "secret":
        _require(request, CHANGE)
        secret = services.subscription_secret_reveal(actor=request.user, subscription=subscription)
    deliveries = webhook_deliveries_visible_to(request.user).filter(subscription=subscription)[:20]
    return render(
        request,
        "integrations/subscription_detail.html",
        {
            "subscription": subscription,
            "deliveries": deliveries,
            "secret": secret,
            "can_change": request.user.has_perm(CHANGE),
            "can_redeliver": request.user.has_perm(REDELIVER),
        },
    )


def _subscription_form(request: HttpRequest, subscription: WebhookSubscription | None) -> Any:
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                if subscription is None:
                    saved = services.subscription_create(actor=request.user, data=form.cleaned_data)
                else:
                    saved = services.subscription_update(
                        actor=request.user, subscription=subscription, data=form.cleaned_data
                    )
            except DomainError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Saved %(record)s.") % {"record": saved})
                return redirect("integrations:webhooks-detail", pk=saved.pk)
        status = 400
    else:
        initial = SubscriptionForm.initial_for(subscription) if subscription else {}
        form, status = SubscriptionForm(initial=initial), 200
    return render(
        request,
        "integrations/subscription_form.html",
        {"form": form, "subscription": subscription},
        status=status,
    )


@login_required
def subscription_create_view(request: HttpRequest) -> HttpResponse:
    _require(request, "integrations.add_webhooksubscription")
    return _subscription_form(request, None)


@login_required
def subscription_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, CHANGE)
    return _subscription_form(request, _subscription(request, pk))


def _act(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    subscription = _subscription(request, pk)
    try:
        action(subscription)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("integrations:webhooks-detail", pk=subscription.pk)


@login_required
@require_POST
def subscription_disable_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, CHANGE)
    reason = request.POST.get("reason", "")  # the service says when it is missing
    return _act(
        request,
        pk,
        lambda item: services.subscription_disable(
            actor=request.user, subscription=item, reason=reason
        ),
        _("The subscription is disabled."),
    )


@login_required
@require_POST
def subscription_enable_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, CHANGE)
    return _act(
        request,
        pk,
        lambda item: services.subscription_enable(actor=request.user, subscription=item),
        _("The subscription is active again."),
    )


@login_required
@require_POST
def subscription_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, CHANGE)
    subscription = _subscription(request, pk)
    delivery = services.subscription_send_test(actor=request.user, subscription=subscription)
    if delivery.state == DeliveryState.DELIVERED:
        messages.success(
            request,
            _("The test event was delivered (HTTP %(status)s).")
            % {"status": delivery.last_status_code},
        )
    else:
        messages.error(
            request,
            _("The test event was not delivered: %(error)s")
            % {"error": delivery.last_error or delivery.last_status_code},
        )
    return redirect("integrations:webhooks-detail", pk=subscription.pk)


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    _require(request, "integrations.view_webhookdelivery")
    deliveries = webhook_deliveries_visible_to(request.user).select_related("subscription")
    form = DeliveryFilterForm(
        request.GET or None, subscriptions=webhook_subscriptions_visible_to(request.user)
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["subscription"]:
            deliveries = deliveries.filter(subscription=data["subscription"])
        if data["event_type"]:
            deliveries = deliveries.filter(event_type=data["event_type"])
        if data["state"]:
            deliveries = deliveries.filter(state=data["state"])
        zone = timezone.get_current_timezone()
        if data["created_from"]:
            start = datetime.datetime.combine(data["created_from"], datetime.time(), zone)
            deliveries = deliveries.filter(created_at__gte=start)
        if data["created_to"]:
            end = datetime.datetime.combine(data["created_to"], datetime.time(), zone)
            deliveries = deliveries.filter(created_at__lt=end + datetime.timedelta(days=1))
    page = Paginator(deliveries.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "integrations/delivery_list.html",
        {"page": page, "form": form, "query": query.urlencode()},
    )


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "integrations.view_webhookdelivery")
    delivery = get_object_or_404(
        webhook_deliveries_visible_to(request.user).select_related("subscription"), pk=pk
    )
    return render(
        request,
        "integrations/delivery_detail.html",
        {
            "delivery": delivery,
            "payload": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
            "can_redeliver": request.user.has_perm(REDELIVER),
        },
    )


@login_required
@require_POST
def delivery_redeliver_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, REDELIVER)
    delivery = get_object_or_404(webhook_deliveries_visible_to(request.user), pk=pk)
    try:
        delivery = services.delivery_redeliver(actor=request.user, delivery=delivery)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if delivery.state == DeliveryState.DELIVERED:
            messages.success(request, _("Delivered again."))
        else:
            messages.error(
                request,
                _("Not delivered: %(error)s")
                % {"error": delivery.last_error or delivery.last_status_code},
            )
    return redirect("integrations:deliveries-detail", pk=delivery.pk)


# Every page with a record id starts from the selectors above (scoping test: tests/integrations).
for _view in (
    subscription_detail,
    subscription_edit_view,
    subscription_disable_view,
    subscription_enable_view,
    subscription_test_view,
    delivery_detail,
    delivery_redeliver_view,
):
    _view.scoping_exempt = (  # type: ignore[attr-defined]
        "internal administrators only (webhook selectors); tested in tests/integrations"
    )
