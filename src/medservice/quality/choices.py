from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseSource(models.TextChoices):
    TICKET = "ticket", _("Service request")
    WORK_ORDER = "work_order", _("Service record (work order)")
    MANUAL = "manual", _("Recorded by quality staff")
    RETURN = "return", _("Return request (suspected defect)")
    OPINION_BOOK = "opinion_book", _("Store opinion book")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed")


OPEN_CASE_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.INVESTIGATING})


class InvestigationKind(models.TextChoices):
    TEST = "test", _("Test of the product")
    INSPECTION = "inspection", _("Inspection of the returned device")
    SITE_VISIT = "site_visit", _("Visit to the complainant")
    RECORD_REVIEW = "record_review", _("Review of records (batch, production, service)")
    OTHER = "other", _("Other")


class DecisionOutcome(models.TextChoices):
    """The quality manager's conclusion (the procedure's 4.5.1-4.5.7, plus product defect)."""

    SERVICE_ISSUE = "service_issue", _("Service issue")
    NO_DEFECT = "no_defect", _("No defect found")
    USE_ERROR = "use_error", _("Use error or individual difference")
    AE_NOT_REPORTABLE = "ae_not_reportable", _("Adverse event, not reportable")
    REPORTABLE_AE = "reportable_ae", _("Reportable adverse event")
    QUALITY_ACCIDENT = "quality_accident", _("Quality accident")
    PRODUCT_DEFECT = "product_defect", _("Product defect")


class Market(models.TextChoices):
    """Where the device was supplied: whose reporting law applies."""

    CN = "CN", _("China")
    US = "US", _("United States")
    EU = "EU", _("European Union")


class Harm(models.TextChoices):
    DEATH = "death", _("Death")
    SERIOUS_INJURY = "serious_injury", _("Serious injury")
    OTHER = "other", _("Other")


class RegulatoryRole(models.TextChoices):
    """The company's role under the device regulations (setting QUALITY_REGULATORY_ROLE)."""

    REGISTRANT = "registrant", _("Registrant / holder")
    AGENT = "agent", _("Agent of a foreign registrant / importer")
    DISTRIBUTOR = "distributor", _("Distributor")
    USER = "user", _("User institution")


class NoticeRecipient(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    MANUFACTURER = "manufacturer", _("Manufacturer")


class NoticeReason(models.TextChoices):
    CASE_OPENED = "case_opened", _("Quality complaint received")
    PRODUCT_DEFECT = "product_defect", _("Product defect decided")
    ADVERSE_EVENT = "adverse_event", _("Reportable adverse event")
    OTHER = "other", _("Other")


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    LETTER = "letter", _("Letter")
    PORTAL = "portal", _("Supplier portal")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("To be sent")
    SENT = "sent", _("Sent, awaiting acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESPONDED = "responded", _("Response received")


class FeedbackChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Regulator's online system")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


# The harm an adverse event did: the same choice as the decision's.
EventOutcome = Harm


class ReportTrigger(models.TextChoices):
    """What starts a legal reporting clock (REGULATORY.md rows in brackets)."""

    DEATH = "death", _("Death (CN-AE-1)")
    SERIOUS_INJURY = (
        "serious_injury",
        _("Serious injury, or may lead to death or serious injury (CN-AE-2)"),
    )
    ABROAD = "abroad", _("Event abroad (CN-AE-3)")
    GROUP_EVENT = "group_event", _("Group event (CN-AE-4)")
    GROUP_EVENT_CASE = "group_event_case", _("Each case of a group event (CN-AE-4)")
    # The evaluation result (final report) after a death or serious-injury report (CN-AE-5):
    # never an initial report's trigger; its clock runs from the initial report's submission.
    DEATH_EVALUATION = "death_evaluation", _("Evaluation result after a death report (CN-AE-5)")
    SERIOUS_INJURY_EVALUATION = (
        "serious_injury_evaluation",
        _("Evaluation result after a serious-injury report (CN-AE-5)"),
    )
    MANUFACTURER = "manufacturer", _("Manufacturer report (US-MDR-1)")
    REMEDIAL_ACTION = "remedial_action", _("Remedial action needed, or FDA asks (US-MDR-2)")
    USER_FACILITY = "user_facility", _("User facility or importer (US-MDR-3)")
    PUBLIC_HEALTH_THREAT = "public_health_threat", _("Serious public-health threat (EU-V-1)")
    DEATH_OR_DETERIORATION = (
        "death_or_deterioration",
        _("Death or unanticipated serious deterioration of health (EU-V-2)"),
    )
    OTHER_SERIOUS_INCIDENT = "other_serious_incident", _("Other serious incident (EU-V-3)")


class ClockUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")


class ReportKind(models.TextChoices):
    INITIAL = "initial", _("Initial report")
    FOLLOW_UP = "follow_up", _("Follow-up report")
    FINAL = "final", _("Final report")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class SubmissionChannel(models.TextChoices):
    ONLINE = "online", _("National adverse-event monitoring system (online)")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    EMAIL = "email", _("E-mail")
    FDA_ESUBMITTER = "fda_esubmitter", _("FDA eSubmitter / ESG")
    EUDAMED = "eudamed", _("EUDAMED / competent authority")
    LETTER = "letter", _("Letter")
    OTHER = "other", _("Other")


class PlaceOfUse(models.TextChoices):
    INSTITUTION = "institution", _("Medical institution")
    HOME = "home", _("Home")
    OTHER = "other", _("Other")


class Relatedness(models.TextChoices):
    RELATED = "related", _("Related")
    UNRELATED = "unrelated", _("Unrelated")
    CANNOT_TELL = "cannot_tell", _("Cannot tell")


class DeviceOrigin(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    IMPORTED = "imported", pgettext_lazy("origin", "Imported")


class RecallKind(models.TextChoices):
    STOP_USE = "stop_use", _("Stop-use notice")
    RECALL = "recall", _("Recall")


class RecallClass(models.TextChoices):
    """召回分级 (医疗器械召回管理办法 art. 14): class I is the most serious."""

    CLASS_I = "I", _("Class I")
    CLASS_II = "II", _("Class II")
    CLASS_III = "III", _("Class III")


class RecallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (not decided)")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class RecallHandling(models.TextChoices):
    """How recalled devices are handled (召回管理办法: repair, replace, retrieve, destroy...)."""

    REPAIR = "repair", _("Repair or correct on site")
    REPLACE = "replace", _("Replace")
    RETRIEVE = "retrieve", _("Retrieve (take back)")
    DESTROY = "destroy", _("Destroy")
    UPDATE = "update", _("Update software")
    RELABEL = "relabel", _("Relabel or change the instructions")


class RecallNoticeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Printed letter")


class Disposition(models.TextChoices):
    """What became of one affected device."""

    CORRECTED_ON_SITE = "corrected_on_site", _("Corrected on site")
    RETURNED = "returned", _("Returned")
    DESTROYED = "destroyed", _("Destroyed")
    NOT_FOUND = "not_found", _("Not found")


class SignoffMeaning(models.TextChoices):
    DECISION = "decision", _("Recall decided")
    CLOSURE = "closure", _("Recall closed")


class CapaKind(models.TextChoices):
    CORRECTIVE = "corrective", _("Corrective action")
    PREVENTIVE = "preventive", _("Preventive action")
    IMPROVEMENT = "improvement", _("Improvement action")


class CapaStatus(models.TextChoices):
    OPEN = "open", _("Open: root cause to analyse")
    ACTIONS = "actions", _("Actions under way")
    VERIFICATION = "verification", _("Effectiveness to verify")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_CAPA_STATUSES = frozenset({CapaStatus.OPEN, CapaStatus.ACTIONS, CapaStatus.VERIFICATION})


class RootCauseMethod(models.TextChoices):
    FIVE_WHYS = "five_whys", _("5 whys")
    FISHBONE = "fishbone", _("Fishbone (Ishikawa) diagram")
    FAULT_TREE = "fault_tree", _("Fault tree analysis")
    FMEA = "fmea", _("FMEA")
    TEST = "test", _("Tests and failure analysis")
    OTHER = "other", _("Other")


class VerificationResult(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")


class TrendDimension(models.TextChoices):
    DEVICE_MODEL = "device_model", _("Device model")
    BATCH = "batch", _("Batch")
    FAULT_CODE = "fault_code", _("Fault code")


class SignalStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("signal", "New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CAPA_OPENED = "capa_opened", _("CAPA opened")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_SIGNAL_STATUSES = frozenset({SignalStatus.NEW, SignalStatus.ACKNOWLEDGED})


class AccidentStatus(models.TextChoices):
    OPEN = "open", _("Recorded")
    INVESTIGATING = "investigating", _("Investigating")
    CLOSED = "closed", _("Closed")


class AccidentSeverity(models.TextChoices):
    """The grades of the company's quality-accident procedure (重大 / 一般质量事故): a major
    accident with serious consequences is reported first, within the shortest time."""

    MAJOR_SERIOUS = "major_serious", _("Major, with serious consequences")
    MAJOR = "major", _("Major")
    GENERAL = "general", _("General")


OPEN_ACCIDENT_STATUSES = frozenset({AccidentStatus.OPEN, AccidentStatus.INVESTIGATING})
