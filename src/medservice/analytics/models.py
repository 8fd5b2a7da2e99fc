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


class ReportKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


def evaluation_report_path(instance: EvaluationReport, filename: str) -> str:
    return f"evaluation-reports/{instance.period_start:%Y}/{filename}"


class EvaluationReport(AuditedModel):
    """A periodic evaluation report (定期评估报告) of one month or quarter: the KPIs against
    their targets and the previous period, the top problems, spot-check findings, survey
    results and improvement actions, frozen as they stood at `as_of`, with the PDF and XLSX
    made from them. It never changes: generating the period again makes the next revision."""

    kind = models.CharField(_("kind"), max_length=20, choices=ReportKind.choices)
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    as_of = models.DateTimeField(_("figures as of"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Per KPI: code, name, unit, value, numerator, denominator, median, p90, target (value,
    # direction, amber band), verdict, previous period's value, provisional-until. Decimals
    # are kept as strings so the stored figure is exactly the computed one.
    figures = models.JSONField(_("figures"), default=list, blank=True)
    # Top problems, spot-check findings, survey results and improvement actions as they were.
    sections = models.JSONField(_("sections"), default=dict, blank=True)
    pdf = models.FileField(_("PDF"), upload_to=evaluation_report_path, blank=True)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    xlsx = models.FileField(_("XLSX"), upload_to=evaluation_report_path, blank=True)
    xlsx_sha256 = models.CharField(_("XLSX SHA-256"), max_length=64, blank=True)
    generated_by = models.ForeignKey(
        "accounts.User", verbose_name=_("generated by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("evaluation report")
        verbose_name_plural = _("evaluation reports")
        ordering = ["-period_start", "kind", "-revision"]
        permissions = [("generate_evaluationreport", _("Can generate evaluation reports"))]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "revision"], name="evaluation_report_revision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_label} {self.get_kind_display()} r{self.revision}"

    @property
    def period_label(self) -> str:
        """2026-03 for a month, 2026 Q1 for a quarter."""
        if self.kind == ReportKind.QUARTERLY:
            return f"{self.period_start.year} Q{(self.period_start.month - 1) // 3 + 1}"
        return f"{self.period_start:%Y-%m}"

    @property
    def file_stem(self) -> str:
        return f"evaluation-{self.kind}-{self.period_start:%Y-%m}-r{self.revision}"


class ReportImprovementAction(AuditedModel):
    """Which KPI of an evaluation report raised an improvement action: the action itself is a
    CAPA of kind "improvement" in quality's tracker (source: the report); this row only
    records the KPI it is about, so the report can list its actions by KPI."""

    report = models.ForeignKey(
        EvaluationReport, verbose_name=_("evaluation report"), on_delete=models.PROTECT,
        related_name="improvement_actions",
    )  # fmt: skip
    capa = models.OneToOneField(
        "quality.Capa", verbose_name=_("CAPA"), on_delete=models.PROTECT,
        related_name="evaluation_link",
    )  # fmt: skip
    kpi = models.CharField(_("KPI"), max_length=40, blank=True, db_index=True)

    class Meta:
        verbose_name = _("improvement action of a report")
        verbose_name_plural = _("improvement actions of reports")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.capa} ({self.kpi or '—'})"
