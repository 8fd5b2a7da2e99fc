"""Trend signals: the one-sided Poisson rule raises a signal on a real rise (per model, batch and
fault code), stays quiet on steady data and when the units in use grew with the complaints, the
monthly job is idempotent, and a signal opens its CAPA in one click."""

from __future__ import annotations

import datetime
import math

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.models import Notification
from medservice.quality.models import TrendSignal
from medservice.quality.trends import (
    judge,
    month_add,
    poisson_upper_tail,
    trend_signal_acknowledge,
    trend_signal_dismiss,
    trend_signal_open_capa,
    trends_evaluate,
)
from tests.catalog.factories import FaultCodeFactory
from tests.factories import user_with_role
from tests.installed_base.factories import (
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)
from tests.quality.factories_capa import QualityCaseFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db
MONTH = datetime.date(2026, 10, 1)  # the month judged
BASELINE_START = datetime.date(2025, 10, 1)  # its twelve trailing months start here


def upper_tail(observed: int, mean: float) -> float:
    """P(X ≥ observed), X ~ Poisson(mean), written out independently of the code under test."""
    return 1 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(observed))


@pytest.fixture
def staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def model():
    return DeviceModelFactory(name="一次性使用输液器", model_spec="SY-20")


def in_use(model, quantity: int, *, batch: str = "B1", on: datetime.date) -> None:
    """`quantity` units of `model` in use from `on`: ten installed devices (the installed base)
    and the rest as a delivered quantity without device records."""
    devices = min(10, quantity)
    for _ in range(devices):
        DeviceFactory(device_model=model, batch_number=batch, installed_on=on, accepted_on=on)
    if quantity > devices:
        DeliveryLineFactory(device_model=model, batch_number=batch, quantity=quantity - devices,
                            delivery=DeliveryFactory(delivered_on=on))  # fmt: skip


def complaints(model, month: datetime.date, count: int, *, batch: str = "B1") -> None:
    aware = datetime.datetime.combine(month.replace(day=15), datetime.time(10),
                                      tzinfo=datetime.UTC)  # fmt: skip
    for _ in range(count):
        QualityCaseFactory(device_model=model, batch_number=batch, awareness_at=aware)


def monthly(model, counts: list[int], *, last: datetime.date) -> None:
    """`counts` complaints per month, the last of them in month `last`."""
    for offset, count in enumerate(reversed(counts)):
        complaints(model, month_add(last, -offset), count)


def test_the_poisson_tail_is_exact():
    assert poisson_upper_tail(15, 5.0) == pytest.approx(upper_tail(15, 5.0), rel=1e-9)
    assert poisson_upper_tail(3, 5.0) == pytest.approx(upper_tail(3, 5.0), rel=1e-9)
    assert poisson_upper_tail(0, 5.0) == 1.0
    assert poisson_upper_tail(1, 0.0) == 0.0


def test_a_spike_raises_signals_per_model_batch_and_fault_code(model, staff):
    # Given 100 units in use since January 2025 and 5 complaints a month for twelve months,
    in_use(model, 100, on=datetime.date(2025, 1, 10))
    monthly(model, [5] * 12, last=month_add(MONTH, -1))
    # and a fault code diagnosed once a month, on a device of the same product line,
    code = FaultCodeFactory(product_line=model.product_line, code="INF-07", name="接口漏液")
    device = model.devices.first()
    for offset in range(1, 13):
        WorkOrderFactory(device=device, fault_code=code, created_at=datetime.datetime.combine(
            month_add(MONTH, -offset).replace(day=20), datetime.time(9), tzinfo=datetime.UTC))  # fmt: skip
    # When October brings 15 complaints and 8 repairs with that code
    complaints(model, MONTH, 15)
    for _ in range(8):
        WorkOrderFactory(device=device, fault_code=code,
                         created_at=datetime.datetime(2026, 10, 20, 9, tzinfo=datetime.UTC))  # fmt: skip
    assert trends_evaluate(month=MONTH) == {"signals": 3}
    # Then the model signals: 15 observed against 0.05 per unit-month × 100 units = 5
    signals = {signal.dimension: signal for signal in TrendSignal.objects.all()}
    by_model = signals["device_model"]
    assert (by_model.key, by_model.label, by_model.month, by_model.status) == (
        str(model.pk), "一次性使用输液器 SY-20", MONTH, "new",
    )  # fmt: skip
    assert (by_model.observed, by_model.expected, by_model.exposure, by_model.baseline_count,
            by_model.baseline_exposure) == (15, 5.0, 100.0, 60, 1200.0)  # fmt: skip
    assert by_model.p_value == pytest.approx(upper_tail(15, 5.0), rel=1e-9)
    assert by_model.p_value < 0.01
    # and batch B1, judged against the model's rate, for its own 100 units
    by_batch = signals["batch"]
    assert (by_batch.key, by_batch.batch_number, by_batch.observed, by_batch.expected) == (
        f"{model.pk}/B1", "B1", 15, 5.0,
    )  # fmt: skip
    # and the fault code: 12 in 1200 unit-months, so 1 expected, 8 observed
    by_code = signals["fault_code"]
    assert (by_code.key, by_code.label, by_code.observed, by_code.expected) == (
        str(code.pk), "INF-07 接口漏液", 8, 1.0,
    )  # fmt: skip
    assert by_code.p_value == pytest.approx(upper_tail(8, 1.0), rel=1e-9)
    # Quality staff are told once
    assert Notification.objects.get(recipient=staff).subject == "3 trend signals for 2026-10"


def test_steady_complaints_raise_no_signal_month_after_month(model):
    # Given 100 units and complaints at a steady ~5 a month with Poisson-like noise
    in_use(model, 100, on=datetime.date(2025, 1, 10))
    noise = [5, 4, 6, 5, 3, 5, 7, 4, 5, 6, 4, 5, 5, 8, 6]  # July 2025 .. September 2026
    monthly(model, noise, last=datetime.date(2026, 9, 1))
    # When the last three months are judged against their trailing twelve
    for month in (datetime.date(2026, 7, 1), datetime.date(2026, 8, 1),
                  datetime.date(2026, 9, 1)):  # fmt: skip
        assert trends_evaluate(month=month) == {"signals": 0}
    # Then even the month of 8 (against 59 in 1200 unit-months: 4.9167 expected) stays quiet
    judgement = judge(observed=8, exposure=100, baseline_counts=noise[1:13],
                      baseline_exposures=[100] * 12)  # fmt: skip
    assert (judgement.expected, judgement.signal) == (4.9167, False)
    assert judgement.p_value == pytest.approx(upper_tail(8, 4.9167), rel=1e-9)
    assert TrendSignal.objects.count() == 0


def test_no_signal_when_the_units_in_use_grew_with_the_complaints(model):
    # Given 100 units and 5 complaints a month for a year
    in_use(model, 100, on=datetime.date(2025, 1, 10))
    monthly(model, [5] * 12, last=month_add(MONTH, -1))
    # When 200 more units (batch B2) go into use in October and complaints triple with them
    in_use(model, 200, batch="B2", on=datetime.date(2026, 10, 2))
    complaints(model, MONTH, 5, batch="B1")
    complaints(model, MONTH, 10, batch="B2")
    # Then nothing signals: 15 observed is what 300 units lead one to expect
    assert trends_evaluate(month=MONTH) == {"signals": 0}
    judgement = judge(observed=15, exposure=300, baseline_counts=[5] * 12,
                      baseline_exposures=[100] * 12)  # fmt: skip
    assert (judgement.expected, judgement.signal) == (15.0, False)


def test_too_few_complaints_or_too_short_a_baseline_never_signal(model):
    # Two complaints against a quiet year are below the floor of three
    assert judge(observed=2, exposure=100, baseline_counts=[0] * 12,
                 baseline_exposures=[100] * 12).signal is False  # fmt: skip
    # A quiet year counts as half a complaint: three now is a signal
    three = judge(observed=3, exposure=100, baseline_counts=[0] * 12,
                  baseline_exposures=[100] * 12)  # fmt: skip
    assert (three.expected, three.signal) == (round(0.5 / 1200 * 100, 4), True)
    # Two months of history are not a baseline
    assert judge(observed=30, exposure=100, baseline_counts=[1, 1],
                 baseline_exposures=[100, 100]) is None  # fmt: skip


@pytest.fixture
def spike(model):
    in_use(model, 100, on=datetime.date(2025, 1, 10))
    monthly(model, [5] * 12, last=month_add(MONTH, -1))
    complaints(model, MONTH, 15)


def test_the_monthly_job_run_twice_creates_the_signals_once(spike):
    from medservice.quality.tasks import trend_signals

    # The job judges the last complete month
    with freeze_time(datetime.datetime(2026, 11, 2, 1, 0, tzinfo=datetime.UTC)):
        assert trend_signals() == {"signals": 2}
        assert trend_signals() == {"signals": 0}
    assert sorted(TrendSignal.objects.values_list("dimension", "month")) == [
        ("batch", MONTH), ("device_model", MONTH),
    ]  # fmt: skip


@pytest.fixture
def signal(spike):
    trends_evaluate(month=MONTH)
    return TrendSignal.objects.get(dimension="device_model")


def test_one_click_opens_a_capa_linked_to_the_signal(signal, staff):
    signal = trend_signal_open_capa(actor=staff, signal=signal, kind="preventive")
    capa = signal.capa
    assert (signal.status, signal.reviewed_by) == ("capa_opened", staff)
    assert (capa.kind, capa.source, capa.source_label, capa.status) == (
        "preventive", signal, "一次性使用输液器 SY-20 · 2026-10", "open",
    )  # fmt: skip
    assert capa.problem.startswith(
        "Complaints about 一次性使用输液器 SY-20 rose in 2026-10: 15 observed against 5.00 "
        "expected for 100 units in use"
    )
    assert list(capa.trend_signals.all()) == [signal]
    # A second click does not open a second CAPA
    with pytest.raises(InvalidTransitionError):
        trend_signal_open_capa(actor=staff, signal=signal)
    # An improvement action is not what a signal opens
    other = TrendSignal.objects.get(dimension="batch")
    with pytest.raises(InvalidInputError):
        trend_signal_open_capa(actor=staff, signal=other, kind="improvement")


def test_acknowledge_then_dismiss_with_a_reason(signal, staff):
    signal = trend_signal_acknowledge(actor=staff, signal=signal)
    assert signal.status == "acknowledged"
    with pytest.raises(InvalidTransitionError):
        trend_signal_acknowledge(actor=staff, signal=signal)
    with pytest.raises(InvalidInputError):
        trend_signal_dismiss(actor=staff, signal=signal, reason="")
    signal = trend_signal_dismiss(actor=staff, signal=signal, reason="同一医院重复登记")
    assert (signal.status, signal.dismiss_reason) == ("dismissed", "同一医院重复登记")


def test_readers_may_not_act_on_signals(signal, manager):
    with pytest.raises(PermissionDeniedError):
        trend_signal_acknowledge(actor=manager, signal=signal)
    with pytest.raises(PermissionDeniedError):
        trend_signal_open_capa(actor=manager, signal=signal)


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_signals_read_only_and_runs_their_actions(
    api, signal, staff, manager, customer_a
):
    client = api.as_user(staff)
    listed = client.get("/api/v1/trend-signals/?dimension=device_model").json()
    assert [(row["id"], row["observed"], row["expected"], row["status"])
            for row in listed["results"]] == [(signal.pk, 15, 5.0, "new")]  # fmt: skip
    # Read only, even for the quality manager, who holds every quality permission
    boss = api.as_user(user_with_role(Role.QUALITY_MANAGER, staff.organization, username="qm"))
    assert boss.post("/api/v1/trend-signals/", {}, format="json").status_code == 405
    assert boss.patch(f"/api/v1/trend-signals/{signal.pk}/", {"observed": 1},
                      format="json").status_code == 405  # fmt: skip
    assert boss.delete(f"/api/v1/trend-signals/{signal.pk}/").status_code == 405
    # Readers may not act; outsiders do not see it
    assert api.as_user(manager).post(
        f"/api/v1/trend-signals/{signal.pk}/acknowledge/").status_code == 403  # fmt: skip
    assert api.as_user(customer_a).get(
        f"/api/v1/trend-signals/{signal.pk}/").status_code in (403, 404)  # fmt: skip
    bad = client.post(f"/api/v1/trend-signals/{signal.pk}/dismiss/", {}, format="json")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["reason"])
    opened = client.post(f"/api/v1/trend-signals/{signal.pk}/open-capa/",
                         {"kind": "corrective"}, format="json")  # fmt: skip
    assert opened.status_code == 200
    body = opened.json()
    assert body["status"] == "capa_opened"
    capa = client.get(f"/api/v1/capas/{body['capa']}/").json()
    assert (capa["kind"], capa["source_type"], capa["source_id"]) == (
        "corrective", "quality.trendsignal", str(signal.pk),
    )  # fmt: skip
    again = client.post(f"/api/v1/trend-signals/{signal.pk}/open-capa/", {}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")


# --- Pages --------------------------------------------------------------------------------------


def test_the_signals_page_lists_open_signals_with_a_one_click_capa(client, signal, staff, manager):
    client.force_login(staff)
    page = client.get("/quality/trend-signals/open/").content.decode()
    assert f'data-signal-row="{signal.pk}"' in page
    assert 'data-action="open-capa-corrective"' in page
    detail = client.get(f"/quality/trend-signals/{signal.pk}/").content.decode()
    assert "15 complaints observed against 5.00 expected for 100 units in use" in detail
    assert 'data-action="open-capa-preventive"' in detail
    assert signal.label in client.get("/quality/trend-signals/?status=new").content.decode()
    # A reader sees the signals without the buttons
    client.force_login(manager)
    page = client.get("/quality/trend-signals/open/").content.decode()
    assert f'data-signal-row="{signal.pk}"' in page
    assert 'data-action="open-capa-corrective"' not in page
    refused = client.post(f"/quality/trend-signals/{signal.pk}/do/open-capa/",
                          {"kind": "corrective", "back": "open"})  # fmt: skip
    assert refused.status_code == 303
    signal.refresh_from_db()
    assert signal.capa is None
    # One click by quality staff opens the CAPA and goes to it
    client.force_login(staff)
    response = client.post(f"/quality/trend-signals/{signal.pk}/do/open-capa/",
                           {"kind": "corrective", "back": "open"})  # fmt: skip
    signal.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/quality/capas/{signal.capa_id}/"
    assert f'data-signal-row="{signal.pk}"' not in client.get(
        "/quality/trend-signals/open/").content.decode()  # fmt: skip
    # The CAPA's page links back to the signal
    capa_page = client.get(f"/quality/capas/{signal.capa_id}/").content.decode()
    assert f'href="/quality/trend-signals/{signal.pk}/"' in capa_page


def test_customers_get_no_signals_page(client, signal, customer_a):
    client.force_login(customer_a)
    assert client.get("/quality/trend-signals/open/").status_code == 404
    assert client.get(f"/quality/trend-signals/{signal.pk}/").status_code == 404
