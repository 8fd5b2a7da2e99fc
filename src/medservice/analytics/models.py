"""What the analytics app stores itself: targets for the KPIs (and, per area below, spot
checks and evaluation reports). It reads every other app's records and never writes them
except through their services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils.translation import gettext_lazy as _

from medservice.analytics.choices import (
    Direction,
    SpotCheckRecordKind,
    SpotCheckSeverity,
    SpotCheckStratum,
)
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


class KpiSnapshot(models.Model):
    """A KPI's figure as computed at one moment for one audience, period and set of filters:
    the stored copy the KPI page, the API and the charts show with its age, so that a page of
    23 figures over a million requests opens at once. Not a record of the service (it is
    recomputed from the source tables every few minutes and dropped when nobody reads it),
    hence not audited."""

    code = models.CharField(_("KPI"), max_length=40)
    # Users who see the same records and hold the same permissions share figures: a digest of
    # their scope, organisation and permissions (snapshots.audience_key).
    audience = models.CharField(_("audience key"), max_length=64)
    # A digest of the period, the filters and the language the notes were written in.
    filter_key = models.CharField(_("filter key"), max_length=64)
    language = models.CharField(_("language"), max_length=10)
    # Whose scope the figure was computed in: the refresh job recomputes it as this user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("computed for"),
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    parameters = models.JSONField(_("filters"), default=dict)
    figure = models.JSONField(_("figure"), default=dict)
    computed_at = models.DateTimeField(_("computed at"))
    compute_ms = models.PositiveIntegerField(_("computing time (ms)"), default=0)
    read_at = models.DateTimeField(_("last read at"))

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "audience", "filter_key"], name="kpi_snapshot_unique"
            )
        ]
        indexes = [
            models.Index(fields=["audience", "filter_key"], name="kpi_snapshot_lookup"),
            models.Index(fields=["read_at"], name="kpi_snapshot_read"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.start}–{self.end} @ {self.computed_at:%Y-%m-%d %H:%M}"


# --- spot checks ---


class SpotCheckPlan(AuditedModel):
    """A standing rule for the periodic spot check (定期抽查): every month, draw at random this
    many closed service requests (or completed work orders) per engineer (or team) and have
    them reviewed against the plan's checklist."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    record_kind = models.CharField(
        _("records sampled"), max_length=30, choices=SpotCheckRecordKind.choices
    )
    stratum = models.CharField(_("sampled per"), max_length=20, choices=SpotCheckStratum.choices)
    size_per_stratum = models.PositiveSmallIntegerField(
        _("records per engineer or team"), default=2
    )
    active = models.BooleanField(_("active"), default=True, db_index=True)
    # Reviews records when the team's manager cannot (no team, no manager, or the manager's
    # own record): never the record's own engineer.
    default_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("default reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("spot-check plan")
        verbose_name_plural = _("spot-check plans")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SpotCheckChecklistItem(AuditedModel):
    """One point of a plan's review checklist (抽查要点), in Chinese and English: a question the
    reviewer answers yes, no or not applicable for each sampled record."""

    plan = models.ForeignKey(
        SpotCheckPlan,
        verbose_name=_("spot-check plan"),
        on_delete=models.CASCADE,
        related_name="checklist",
    )
    code = models.SlugField(_("code"), max_length=40)
    text_zh = models.CharField(_("text (Chinese)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("spot-check checklist point")
        verbose_name_plural = _("spot-check checklist points")
        ordering = ["plan", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="spot_check_checklist_code")
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.code}"

    def text_in(self, language: str) -> str:
        return self.text_en if (language or "").startswith("en") else self.text_zh


class SpotCheckSample(AuditedModel):
    """One period's draw of a plan (e.g. "2026-03 closed requests per engineer"): the seed that
    makes it reproducible by anyone, the algorithm that used it, and how many records it was
    drawn from. At most one per plan and period."""

    plan = models.ForeignKey(
        SpotCheckPlan,
        verbose_name=_("spot-check plan"),
        on_delete=models.PROTECT,
        related_name="samples",
    )
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    # secrets.token_hex(16): 128 random bits, kept so the draw can be recomputed and checked.
    seed = models.CharField(_("seed"), max_length=64, editable=False)
    algorithm = models.CharField(_("algorithm version"), max_length=20, editable=False)
    population_size = models.PositiveIntegerField(_("records drawn from"), default=0)

    class Meta:
        verbose_name = _("spot-check sample")
        verbose_name_plural = _("spot-check samples")
        ordering = ["-period_start", "plan", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "period_start"], name="spot_check_sample_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.period_start:%Y-%m}"


class SpotCheckItem(AuditedModel):
    """One record drawn for review (抽查记录): a closed service request or completed work
    order, the engineer or team it was drawn for, its rank (the hash that chose it), and the
    reviewer's checklist answers, finding and note. A record is drawn at most once, ever."""

    sample = models.ForeignKey(
        SpotCheckSample,
        verbose_name=_("spot-check sample"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", verbose_name=_("record type"), on_delete=models.PROTECT
    )
    object_id = models.PositiveBigIntegerField(_("record id"))
    record = GenericForeignKey("content_type", "object_id")
    stratum_id = models.PositiveBigIntegerField(_("engineer or team id"))
    stratum_label = models.CharField(_("engineer or team"), max_length=200)
    # The person whose work the record is (request owner, work order engineer) when drawn:
    # they see the finding and may never review it.
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("engineer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spot_check_items",
    )
    rank = models.CharField(_("rank"), max_length=64, editable=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spot_check_reviews",
    )
    answers = models.JSONField(_("checklist answers"), default=dict, blank=True)
    severity = models.CharField(
        _("finding"), max_length=10, choices=SpotCheckSeverity.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("spot-check item")
        verbose_name_plural = _("spot-check items")
        ordering = ["sample", "stratum_label", "rank"]
        permissions = [
            ("review_spotcheckitem", _("Can review spot-checked records")),
            ("view_every_spotcheckitem", _("Can see every spot-check finding")),
        ]
        constraints = [
            # The database itself refuses the same record in a second sample.
            models.UniqueConstraint(
                fields=["content_type", "object_id"], name="spot_check_record_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sample} #{self.object_id}"


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


class KpiComputation(models.Model):
    """A request to compute a set of KPI figures in the background for one audience, period,
    set of filters and language: the KPI page, the API and the charts ask for it instead of
    computing in the request (docs/performance.md, "Load test"), and readers who miss the same
    figures share it, so a figure is computed once however many ask. Not a record of the
    service (a queue marker dropped once done or lost), hence not audited."""

    # The same keys as KpiSnapshot (snapshots.audience_key, snapshots.filter_key), and a digest
    # of the sorted KPI codes: the page and the API of the same user ask for the same set.
    audience = models.CharField(_("audience key"), max_length=64)
    filter_key = models.CharField(_("filter key"), max_length=64)
    codes_key = models.CharField(_("KPI set key"), max_length=64)
    language = models.CharField(_("language"), max_length=10)
    codes = models.JSONField(_("KPIs"), default=list)
    # Whose scope the figures are computed in (the task computes them as this user).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    parameters = models.JSONField(_("filters"), default=dict)
    requested_at = models.DateTimeField(_("requested at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("KPI computation")
        verbose_name_plural = _("KPI computations")
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "filter_key", "codes_key"], name="kpi_computation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{len(self.codes)} KPIs {self.start}–{self.end} @ {self.requested_at:%H:%M:%S}"
