"""What the analytics app stores itself: targets for the KPIs (and, per area below, spot
checks and evaluation reports). It reads every other app's records and never writes them
except through their services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medservice.analytics.choices import Direction
from medservice.core.models import AuditedModel

# --- KPIs and dashboards ---


class KpiTarget(AuditedModel):
    """The level a KPI should reach (服务指标目标), set by the service manager: company-wide,
    or for one organisation, device model, region or team. The most specific active row whose
    `valid_from` has come wins."""

    kpi = models.CharField(_("KPI"), max_length=40, db_index=True)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kpi_targets",
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kpi_targets",
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    team = models.ForeignKey(
        "tickets.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kpi_targets",
    )
    value = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    # A figure worse than the target by at most this much shows amber rather than red.
    amber_band = models.DecimalField(
        _("amber band"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("How far past the target a figure still shows amber instead of red."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # True for the seeded defaults the procedures do not fix ("proposed — to be confirmed").
    proposed = models.BooleanField(_("proposed, to be confirmed"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["kpi", "pk"]
        permissions = [
            ("view_kpis", _("Can see KPIs")),
            ("view_service_dashboard", _("Can see the service dashboard")),
            ("view_quality_dashboard", _("Can see the quality dashboard")),
        ]
        indexes = [models.Index(fields=["kpi", "active"], name="kpi_target_lookup")]

    def __str__(self) -> str:
        return f"{self.kpi} {self.get_direction_display()} {self.value}"

    @property
    def specificity(self) -> int:
        """Organisation 8, model 4, team 2, region 1, as SLA policies are ranked."""
        return (
            8 * bool(self.organization_id) + 4 * bool(self.device_model_id)
            + 2 * bool(self.team_id) + 1 * bool(self.region)
        )  # fmt: skip


# --- spot checks ---

# --- evaluation reports ---
