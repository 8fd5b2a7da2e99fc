"""A portal return request taken to a completed exchange, in Chromium (issue 9's journey): the
hospital's customer asks on the phone to return a monitor that arrived damaged, with the
invoice as a PDF; the agent evaluates it (transport damage: the carrier's, no quality case),
the manager approves an exchange, the warehouse keeper receives the unit into quarantine with
the inspection and ships the exchange unit picked by its serial, the manager closes it; the
customer then sees the return completed with its RMA number and the new unit's serial. The
database ends with the old device returned, the new one installed at the hospital with the old
one's warranty, and the stock moved: −1 in the warehouse, +1 defective in quarantine."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader, PdfWriter

from medservice.accounts.choices import Role
from medservice.installed_base.choices import DeviceStatus
from medservice.installed_base.models import Device
from medservice.inventory.choices import Condition, LocationKind, MovementKind, PartTracking
from medservice.inventory.models import StockMovement
from medservice.inventory.services import on_hand, stock_balances_verify
from medservice.returns.choices import (
    Cause,
    Decision,
    FileKind,
    InspectionResult,
    ItemCondition,
    Responsibility,
    ReturnChannel,
    ReturnReason,
    ReturnStatus,
    WarrantyMode,
    WindowStart,
)
from medservice.returns.models import ReturnRequest, ReturnRule
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, OrganizationFactory, user_with_role
from tests.installed_base.factories import (
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)
from tests.inventory.factories import LocationFactory, PartFactory, QuarantineFactory, stock_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
OLD_SERIAL = "KM8-2603-00017"
NEW_SERIAL = "KM8-2605-90001"
FAULT = "到货时监护仪外壳碎裂，屏幕有划痕，外箱有明显压痕。"
DELIVERY_NUMBER = "DL-2026-000101"
SHIPMENT = "顺丰 SF1234567890"
# The flash message (the eligibility box is an .alert-success too, with role="status").
MESSAGE = '.alert-success[role="alert"]'


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def invoice_pdf() -> bytes:
    """A real one-page PDF (A4), as a scanned invoice would arrive."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "发票 FP-2026-0088"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def site(company):
    """Hospital A bought a monitor 10 days ago (delivery DL-2026-000101, serial KM8-2603-00017,
    warranty to a fixed day); the monitor is kept in stock as a serial-tracked whole unit, one
    of which (KM8-2605-90001) waits in the central warehouse; a quarantine location; the return
    rule of 30 days from delivery; the customer, the agent, the manager and the keeper (all
    reading Chinese)."""
    hospital = OrganizationFactory(name="市第一人民医院")
    model = DeviceModelFactory(name="病人监护仪", model_spec="KM-8", warranty_months=12)
    delivery = DeliveryFactory(
        organization=hospital, number=DELIVERY_NUMBER, invoice_number="FP-2026-0088",
        delivered_on=days_ago(10),
    )  # fmt: skip
    line = DeliveryLineFactory(
        delivery=delivery, device_model=model, batch_number="2603", serial_number=OLD_SERIAL,
        quantity=1, unit_price=Decimal("16800.00"),
    )  # fmt: skip
    device = DeviceFactory(
        device_model=model, organization=hospital, delivery_line=line, serial_number=OLD_SERIAL,
        batch_number="2603", installed_on=days_ago(9), accepted_on=days_ago(8),
        warranty_ends_on=days_ago(8) + datetime.timedelta(days=364), status="in_service",
    )  # fmt: skip
    central = LocationFactory(code="CW-SH", name="上海中心仓", kind=LocationKind.CENTRAL)
    quarantine = QuarantineFactory(code="QUARANTINE", name="退货隔离区")
    unit = PartFactory(
        number="UNIT-KM8", name_zh="病人监护仪整机", name_en="Patient monitor unit",
        tracking=PartTracking.SERIAL, device_model=model,
    )  # fmt: skip
    lot = stock_in(central, unit, 1, serial_number=NEW_SERIAL, lot_number="2605")
    ReturnRule.objects.create(
        name="退换货通用规则：到货 30 天内", window_days=30, window_start=WindowStart.DELIVERY
    )
    zh = {"language": "zh-hans"}
    return {
        "hospital": hospital, "device": device, "central": central, "quarantine": quarantine,
        "unit": unit, "lot": lot,
        "customer": user_with_role(Role.CUSTOMER_USER, hospital, username="nurse", **zh),
        "agent": user_with_role(Role.SERVICE_AGENT, company, username="agent_zh", **zh),
        "manager": user_with_role(Role.SERVICE_MANAGER, company, username="boss_zh", **zh),
        "keeper": user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper_zh", **zh),
    }  # fmt: skip


def switch_to(page: Page, username: str) -> None:
    page.context.clear_cookies()
    log_in(page, username, PASSWORD)


def act(page: Page, name: str, *, selects=None, fields=None, done: str) -> None:
    """Open an action on the staff return page, fill its form and send it; the page comes back
    with "<action>：已完成。"."""
    form = page.locator(f"#form-{name}")
    if not form.is_visible():
        page.locator(f"#action-{name}").click()
    expect(form).to_be_visible()
    for field, value in (selects or {}).items():
        form.locator(f"#{field}").select_option(value)
    for field, value in (fields or {}).items():
        form.locator(f"#{field}").fill(value)
    with page.expect_navigation():
        page.locator(f"#submit-{name}").click()
    expect(page.locator(MESSAGE)).to_have_text(re.compile(rf"{done}：已完成。"))


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


def test_a_portal_return_request_becomes_a_completed_exchange(
    live_server, page: Page, page_errors, site
):
    device, central, quarantine = site["device"], site["central"], site["quarantine"]
    unit, lot = site["unit"], site["lot"]
    pdf = invoice_pdf()
    assert on_hand(part=unit, location=central, lot=lot) == 1

    # 1. The customer, on the phone, asks to return the monitor with the invoice.
    page.set_viewport_size(PHONE)
    log_in(page, "nurse", PASSWORD)
    page.goto("/portal/returns/new/")
    expect(page.locator("h1")).to_have_text("退货或换货")
    device_option = page.locator(f'#id_line_1_device option[value="{device.pk}"]')
    expect(device_option).to_have_text(f"病人监护仪 KM-8 · {OLD_SERIAL}")
    page.locator("#id_line_1_device").select_option(str(device.pk))
    page.locator("#id_line_1_condition").select_option(ItemCondition.DAMAGED)
    page.locator("#id_reason").select_option(ReturnReason.DAMAGED_ON_ARRIVAL)
    page.locator("#id_fault_description").fill(FAULT)
    page.locator("#id_delivery_reference").fill(DELIVERY_NUMBER)
    page.locator("#id_proof").set_input_files(
        {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": pdf}
    )
    fits_the_phone(page)
    with page.expect_navigation():
        page.locator("#portal-return-submit").click()
    record = ReturnRequest.objects.get()
    expect(page).to_have_url(f"{live_server.url}/portal/returns/{record.pk}/")
    expect(page.locator(MESSAGE)).to_have_text(
        re.compile("谢谢。您的退换货申请已登记；我们将进行评估。")
    )
    status = page.locator("#portal-return-status")
    expect(status).to_have_text("已收到：我们将进行评估")
    expect(status).to_have_attribute("data-status", ReturnStatus.REQUESTED)
    expect(page.locator("#portal-return-number")).to_have_count(0)
    expect(page.locator("#return-eligibility")).to_have_text("符合全部退换货规则。")
    row = page.locator(f'#return-lines tr[data-line="{record.lines.get().pk}"] td')
    expect(row).to_have_text(
        [
            "病人监护仪 KM-8",
            OLD_SERIAL,
            "1",
            "破损或不完整",
            f"{DELIVERY_NUMBER} · {days_ago(10):%Y-%m-%d}",
        ]
    )
    expect(page.locator("#return-files li")).to_have_text(re.compile(r"^发票\.pdf\s+发票$"))
    fits_the_phone(page)

    # 2. Staff take it on the return's page (desktop).
    page.set_viewport_size({"width": 1280, "height": 900})
    staff_page = f"/returns/{record.pk}/"
    badge = page.locator("#return-status .badge").first

    # The agent evaluates: transport damage, so the carrier is responsible (no quality case).
    switch_to(page, "agent_zh")
    page.goto(staff_page)
    expect(badge).to_have_text("已申请（待评估）")
    expect(page.locator("#action-approve-exchange")).to_have_count(0)  # the manager decides
    act(
        page, "evaluate", selects={"id_cause": Cause.TRANSPORT_DAMAGE},
        fields={"id_evaluation": "照片与签收单显示外箱受压破损，属承运方责任。"}, done="评估",
    )  # fmt: skip
    expect(badge).to_have_text("已评估（待决定）")
    expect(page.locator("#return-quality-case")).to_have_count(0)

    # The manager approves an exchange, the warranty continuing: the RMA number is issued.
    switch_to(page, "boss_zh")
    page.goto(staff_page)
    act(
        page, "approve-exchange", selects={"id_warranty_mode": WarrantyMode.CONTINUE},
        fields={"id_reason": "物流破损，整机换新，由承运方赔付。"}, done="批准换货",
    )  # fmt: skip
    record.refresh_from_db()
    rma = f"RMA-{timezone.localdate().year}-000001"
    assert record.number == rma
    expect(badge).to_have_text("已批准（已发放RMA号）")
    expect(page.locator("#return-number")).to_have_text(rma)
    expect(page.locator("#return-decision")).to_have_text("换货")

    # The warehouse keeper receives the unit into quarantine with the inspection's result ...
    switch_to(page, "keeper_zh")
    page.goto(staff_page)
    act(
        page, "receive",
        selects={"id_location": str(quarantine.pk),
                 "id_inspection_result": InspectionResult.AS_DESCRIBED},
        done="收货入隔离区",
    )  # fmt: skip
    expect(badge).to_have_text("已收货入隔离区")
    expect(page.locator("#return-receipt dd").nth(2)).to_have_text("与客户描述一致")

    # ... then ships the exchange unit from the central warehouse, picking it by its serial.
    page.locator("#action-ship-exchange").click()
    lot_field = page.locator(f"#id_lot_{record.lines.get().pk}")
    expect(lot_field.locator("option")).to_have_text(["---------", NEW_SERIAL])
    act(
        page, "ship-exchange",
        selects={"id_location": str(central.pk), f"id_lot_{record.lines.get().pk}": str(lot.pk)},
        fields={"id_shipment_reference": SHIPMENT}, done="发出换货设备",
    )  # fmt: skip
    expect(badge).to_have_text("换货设备已发出")
    warranty_end = f"{device.warranty_ends_on:%Y-%m-%d}"
    exchange_cells = page.locator("#return-exchanges tbody tr td")
    expect(exchange_cells).to_have_count(5)
    expect(exchange_cells.nth(0)).to_have_text(OLD_SERIAL)
    expect(exchange_cells.nth(1)).to_have_text(NEW_SERIAL)
    expect(exchange_cells.nth(2)).to_have_text(f"{warranty_end} (延续原设备的保修)")
    expect(exchange_cells.nth(4)).to_have_text(SHIPMENT)

    # The manager closes it.
    switch_to(page, "boss_zh")
    page.goto(staff_page)
    act(page, "close", fields={"id_note": "换货完成。"}, done="关闭")
    expect(badge).to_have_text("已结案")
    expect(page.locator("#return-actions")).to_have_count(0)

    # 3. Back in the portal, on the phone: completed, with the RMA number and the new serial.
    page.set_viewport_size(PHONE)
    switch_to(page, "nurse")
    page.goto("/portal/returns/")
    with page.expect_navigation():
        page.locator(f'a[href="/portal/returns/{record.pk}/"]').first.click()
    status = page.locator("#portal-return-status")
    expect(status).to_have_attribute("data-status", ReturnStatus.CLOSED)
    completed_words = status.inner_text()  # checked at the end (see below)
    expect(page.locator("#portal-return-title")).to_have_text(rma)
    expect(page.locator("#portal-return-number")).to_have_text(rma)
    expect(page.locator("#portal-return-decision")).to_contain_text("换货")
    expect(page.locator("#portal-return-decision")).to_contain_text(
        "物流破损，整机换新，由承运方赔付。"
    )
    expect(page.locator("#portal-return-evaluation")).to_have_text("评估: 运输损坏 · 承运商")
    portal_cells = page.locator("#return-exchanges tbody tr td")
    expect(portal_cells.nth(0)).to_have_text(OLD_SERIAL)
    expect(portal_cells.nth(1)).to_have_text(NEW_SERIAL)
    expect(portal_cells.nth(2)).to_have_text(f"{warranty_end} (延续原设备的保修)")
    expect(portal_cells.nth(4)).to_have_text(SHIPMENT)
    fits_the_phone(page)

    # What the database holds: the return closed as a carrier's transport damage, no quality case.
    record.refresh_from_db()
    assert (record.status, record.channel, record.decision, record.number) == (
        ReturnStatus.CLOSED, ReturnChannel.PORTAL, Decision.EXCHANGE, rma,
    )  # fmt: skip
    assert (record.cause, record.responsibility, record.quality_case_id) == (
        Cause.TRANSPORT_DAMAGE, Responsibility.CARRIER, None,
    )  # fmt: skip
    assert (record.requested_by, record.eligible) == (site["customer"], True)
    proof = record.files.get()
    assert (proof.kind, proof.original_name, proof.content_type) == (
        FileKind.INVOICE, "发票.pdf", "application/pdf",
    )  # fmt: skip
    with proof.file.open("rb") as stored:
        assert len(PdfReader(io.BytesIO(stored.read())).pages) == 1
    # The old device returned, the new one at the hospital with the old one's warranty.
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETURNED
    new = Device.objects.get(serial_number=NEW_SERIAL)
    assert (new.organization, new.device_model, new.status, new.batch_number) == (
        site["hospital"], device.device_model, DeviceStatus.INSTALLED, "2605",
    )  # fmt: skip
    assert new.installed_on == timezone.localdate()
    assert new.warranty_ends_on == device.warranty_ends_on == days_ago(8) + datetime.timedelta(364)
    exchange = record.exchange_units.get()
    assert (exchange.old_device, exchange.new_device, exchange.lot) == (device, new, lot)
    assert exchange.shipment_reference == SHIPMENT
    # The stock: the exchange unit left the warehouse, the returned one sits in quarantine.
    assert on_hand(part=unit, location=central) == 0
    assert on_hand(part=unit, location=central, lot=lot) == 0
    old_lot = unit.lots.get(serial_number=OLD_SERIAL)
    assert on_hand(part=unit, location=quarantine, lot=old_lot, condition=Condition.DEFECTIVE) == 1
    assert on_hand(part=unit, location=quarantine, condition=Condition.DEFECTIVE) == 1
    assert on_hand(part=unit, location=quarantine) == 0  # nothing usable: defective only
    movements = list(
        StockMovement.objects.filter(reference=rma)
        .order_by("pk")
        .values_list("kind", "quantity", "device")
    )
    assert movements == [
        (MovementKind.CUSTOMER_RETURN, Decimal("1.000"), device.pk),
        (MovementKind.EXCHANGE_SHIPMENT, Decimal("1.000"), new.pk),
    ]
    assert stock_balances_verify() == []
    assert page_errors == [], "\n".join(page_errors)
    # Last, so everything above is checked first: a completed return reads "已完成" to the
    # customer. (The portal's "Completed" shares its msgid with the service report's
    # "Completed" column, translated "完成时间", completion time.)
    assert completed_words == "已完成"
