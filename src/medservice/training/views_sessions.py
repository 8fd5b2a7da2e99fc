"""The training pages: training plans and their topics, staff trainings (sessions) with the
results form (one row per attendee, and rows to add people), certifications with the grant
form and the revoke action, and the printable staff record of one person.

Forms check shape only; the services in training/sessions.py decide, and their refusals come
back on the named fields."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from medservice.catalog.selectors import device_models_visible_to, product_lines_visible_to
from medservice.core.errors import DomainError
from medservice.core.registry import Related, Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.core.widgets import AutocompleteSelect, autocomplete_response
from medservice.training.api.sessions import (
    CertificationSerializer,
    TrainingPlanSerializer,
    TrainingSessionSerializer,
)
from medservice.training.choices import SessionStatus, TopicCategory
from medservice.training.models import (
    Certification,
    TrainingPlan,
    TrainingSession,
    TrainingTopic,
)
from medservice.training.selectors import (
    attendances_visible_to,
    certifications_valid_on,
    certifications_visible_to,
    plans_visible_to,
    reviews_visible_to,
    sessions_visible_to,
    violations_visible_to,
)
from medservice.training.sessions import (
    RECORD_PERMISSION,
    certification_grant_from_data,
    certification_revoke,
    plan_create,
    plan_update,
    session_create_from_data,
    session_results_record,
    session_summary,
    session_update,
    topic_create,
    topic_update,
    trainees_visible_to,
)

RESULT_EXTRA_ROWS = 3


def _bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        elif not isinstance(widget, forms.HiddenInput):
            widget.attrs.setdefault("class", "form-control")
    return form


def _person_label(person: Any) -> str:
    name = person.get_full_name() or person.username
    organization = getattr(person, "organization", None)
    return f"{name} ({person.username}, {organization})" if organization else name


class PersonChoiceField(forms.ModelChoiceField):
    """A person shown by name, login and organisation: two people may share a name."""

    def label_from_instance(self, obj: Any) -> str:
        return _person_label(obj)


def person_autocomplete() -> AutocompleteSelect:
    """A person is picked by typing a name or login: the staff may be many."""
    return AutocompleteSelect(reverse_lazy("training:trainee-options"), name_field="username")


DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- Plans and topics -------------------------------------------------------------------------


class TrainingPlanForm(forms.ModelForm):
    class Meta:
        model = TrainingPlan
        fields = ["name", "year", "period", "quarter", "owner", "notes"]

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = trainees_visible_to(user)
        self.version = getattr(self.instance, "version", None) if self.instance.pk else None
        _bootstrap(self)


class TrainingTopicForm(forms.ModelForm):
    class Meta:
        model = TrainingTopic
        fields = [
            "plan",
            "title",
            "category",
            "device_model",
            "product_line",
            "planned_on",
            "audience",
        ]
        widgets = {"planned_on": DATE_WIDGET}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans_visible_to(user).order_by("-year", "name")
        self.fields["device_model"].queryset = device_models_visible_to(user)
        self.fields["product_line"].queryset = product_lines_visible_to(user)
        self.version = getattr(self.instance, "version", None) if self.instance.pk else None
        _bootstrap(self)


def _plan_create(*, actor: Any, model: Any = TrainingPlan, data: dict[str, Any]) -> TrainingPlan:
    return plan_create(actor=actor, data=data)


def _plan_update(
    *, actor: Any, instance: TrainingPlan, data: dict[str, Any], expected_version: Any = None
) -> TrainingPlan:
    return plan_update(actor=actor, plan=instance, data=data, expected_version=expected_version)


def _topic_create(*, actor: Any, model: Any = TrainingTopic, data: dict[str, Any]) -> TrainingTopic:
    return topic_create(actor=actor, data=data)


def _topic_update(
    *, actor: Any, instance: TrainingTopic, data: dict[str, Any], expected_version: Any = None
) -> TrainingTopic:
    return topic_update(actor=actor, topic=instance, data=data, expected_version=expected_version)


def topics_visible_to(user: Any) -> QuerySet[TrainingTopic]:
    """A topic is seen with its plan."""
    return TrainingTopic.objects.filter(plan__in=plans_visible_to(user))


training_plans = register(
    Resource(
        name="training-plans",
        model=TrainingPlan,
        selector=plans_visible_to,
        namespace="training",
        list_columns=["name", "year", "period", "quarter", "owner"],
        detail_fields=["name", "year", "period", "quarter", "owner", "notes", "created_at"],
        form_class=TrainingPlanForm,
        serializer_class=TrainingPlanSerializer,
        search_fields=["name"],
        ordering_fields=["year", "name"],
        default_ordering=["-year", "name", "pk"],
        select_related=["owner"],
        create=_plan_create,
        update=_plan_update,
        delete=None,
        organization_scoped=False,
        related=[
            Related(
                label=gettext_lazy("Topics"),
                rows=lambda plan, user: (
                    topics_visible_to(user)
                    .filter(plan=plan)
                    .select_related("device_model", "product_line")
                ),
                columns=["title", "category", "device_model", "product_line", "planned_on"],
                detail_url_name="training:training-topics-detail",
            ),
            Related(
                label=gettext_lazy("Sessions"),
                rows=lambda plan, user: (
                    sessions_visible_to(user).filter(topic__plan=plan).order_by("-starts_at")
                ),
                columns=["number", "title", "starts_at", "status"],
                detail_url_name="training:staff-trainings-detail",
            ),
        ],
    )
)

training_topics = register(
    Resource(
        name="training-topics",
        model=TrainingTopic,
        selector=topics_visible_to,
        namespace="training",
        list_columns=["title", "plan", "category", "device_model", "product_line", "planned_on"],
        detail_fields=[
            "plan",
            "title",
            "category",
            "device_model",
            "product_line",
            "planned_on",
            "audience",
        ],
        form_class=TrainingTopicForm,
        search_fields=["title"],
        ordering_fields=["planned_on", "title"],
        default_ordering=["planned_on", "pk"],
        select_related=["plan", "device_model", "product_line"],
        create=_topic_create,
        update=_topic_update,
        delete=None,
        organization_scoped=False,
        related=[
            Related(
                label=gettext_lazy("Sessions"),
                rows=lambda topic, user: (
                    sessions_visible_to(user).filter(topic=topic).order_by("-starts_at")
                ),
                columns=["number", "title", "starts_at", "status"],
                detail_url_name="training:staff-trainings-detail",
            )
        ],
    )
)


# --- Sessions ---------------------------------------------------------------------------------


class SessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=SessionStatus.choices
    )
    category = django_filters.ChoiceFilter(
        label=gettext_lazy("Category"), choices=TopicCategory.choices
    )
    device_model = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Device model"),
        queryset=lambda request: device_models_visible_to(getattr(request, "user", None)),
    )
    starts_from = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__gte", label=gettext_lazy("From")
    )
    starts_to = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__lte", label=gettext_lazy("To")
    )

    class Meta:
        model = TrainingSession
        fields = ["status", "category", "device_model"]


class TrainingSessionForm(forms.ModelForm):
    """A session's set-up; the people are put on it with the results form."""

    class Meta:
        model = TrainingSession
        fields = [
            "topic",
            "title",
            "category",
            "device_model",
            "product_line",
            "trainer",
            "trainer_name",
            "starts_at",
            "ends_at",
            "place",
            "materials",
            "pass_mark",
            "practical_required",
            "certifies",
            "certification_months",
            "notes",
        ]
        widgets = {"starts_at": DATETIME_WIDGET, "ends_at": DATETIME_WIDGET}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = topics_visible_to(user).select_related("plan")
        self.fields["device_model"].queryset = device_models_visible_to(user)
        self.fields["product_line"].queryset = product_lines_visible_to(user)
        self.fields["trainer"].queryset = trainees_visible_to(user)
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.version = getattr(self.instance, "version", None) if self.instance.pk else None
        _bootstrap(self)

    def _post_clean(self) -> None:
        # The services decide the rules (and name the fields): the model's own constraints
        # are not checked here a second time with a vaguer message.
        pass


class PracticalSelect(forms.NullBooleanSelect):
    """Not assessed, passed or failed: the words of an assessment, not "unknown/yes/no"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [
            ("unknown", gettext_lazy("Not assessed")),
            ("true", gettext_lazy("Passed")),
            ("false", gettext_lazy("Failed")),
        ]


class ResultRowForm(forms.Form):
    """One attendee's result. A row of someone already on the session carries them hidden;
    an empty added row is skipped."""

    person = PersonChoiceField(
        label=gettext_lazy("Person"), queryset=None, required=False, widget=person_autocomplete()
    )
    attended = forms.BooleanField(label=gettext_lazy("Attended"), required=False)
    written_score = forms.DecimalField(
        label=gettext_lazy("Written score"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.5"}),
    )
    practical_passed = forms.NullBooleanField(
        label=gettext_lazy("Practical"),
        required=False,
        widget=PracticalSelect(),
    )
    feedback_rating = forms.TypedChoiceField(
        label=gettext_lazy("Feedback (1–5)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(str(value), str(value)) for value in range(1, 6)]],
    )
    feedback_comment = forms.CharField(
        label=gettext_lazy("Feedback"), required=False, max_length=2000
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = trainees_visible_to(user)
        self.known_person = self.initial.get("person_object")
        if self.known_person is not None:
            # Someone already on the session: their row is theirs, not to be re-chosen.
            self.fields["person"].widget = forms.HiddenInput()
        _bootstrap(self)

    def result(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", None) or {}
        if data.get("person") is None:
            return None
        return {name: data.get(name) for name in self.fields}


ResultRowFormSet = formset_factory(ResultRowForm, extra=RESULT_EXTRA_ROWS, max_num=500)


def _result_rows(session: TrainingSession, user: Any, data: Any = None) -> Any:
    attendances = list(session.attendances.select_related("person__organization").order_by("pk"))
    initial = [
        {
            "person": attendance.person_id,
            "person_object": attendance.person,
            "attended": attendance.attended,
            "written_score": attendance.written_score,
            "practical_passed": attendance.practical_passed,
            "feedback_rating": attendance.feedback_rating,
            "feedback_comment": attendance.feedback_comment,
        }
        for attendance in attendances
    ]
    return ResultRowFormSet(data, initial=initial, prefix="results", form_kwargs={"user": user})


def _session_update(
    *, actor: Any, instance: TrainingSession, data: dict[str, Any], expected_version: Any = None
) -> TrainingSession:
    return session_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


class SessionDetailView(ResourceDetailView):
    """The session's page adds its attendees with their scores and pass or fail, the
    certifications they earned, and the results form for those who may record them."""

    extra_template = "training/session_panel.html"
    bound_rows: Any = None

    def extra_context_for(self, obj: TrainingSession) -> dict[str, Any]:
        user = self.request.user
        attendances = list(
            attendances_visible_to(user)
            .filter(session=obj)
            .select_related("person__organization")
            .order_by("pk")
        )
        certifications = list(
            certifications_visible_to(user)
            .filter(session=obj)
            .select_related("person", "device_model", "product_line", "renews")
            .order_by("pk")
        )
        may_record = user.has_perm(RECORD_PERMISSION) and obj.status != SessionStatus.CANCELLED
        return {
            "attendances": attendances,
            "summary": session_summary(attendances),
            "session_certifications": certifications,
            "may_record": may_record,
            "result_rows": (self.bound_rows or _result_rows(obj, user)) if may_record else None,
        }


class CertificationFilter(django_filters.FilterSet):
    person = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Person"), queryset=lambda request: _certified_people(request)
    )
    device_model = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Device model"),
        queryset=lambda request: device_models_visible_to(getattr(request, "user", None)),
    )
    product_line = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Product line"),
        queryset=lambda request: product_lines_visible_to(getattr(request, "user", None)),
    )
    valid_on = django_filters.DateFilter(
        method="filter_valid_on",
        label=gettext_lazy("Valid on"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    expiring_within = django_filters.NumberFilter(
        method="filter_expiring_within", label=gettext_lazy("Ending within (days)"), min_value=0
    )

    class Meta:
        model = Certification
        fields = ["person", "device_model", "product_line"]

    def filter_valid_on(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(pk__in=certifications_valid_on(value).values("pk"))

    def filter_expiring_within(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        today = timezone.localdate()
        # In force today and ending within the window, not yet renewed.
        return queryset.filter(
            pk__in=certifications_valid_on(today).values("pk"),
            valid_until__lte=today + datetime.timedelta(days=int(value)),
            renewals__isnull=True,
        )


def _certified_people(request: Any) -> QuerySet:
    from medservice.accounts.models import User

    user = getattr(request, "user", None)
    # Only people whose certifications the user may see: never the whole user table.
    return User.objects.filter(pk__in=certifications_visible_to(user).values("person")).order_by(
        "username"
    )


staff_trainings = register(
    Resource(
        name="staff-trainings",
        model=TrainingSession,
        selector=sessions_visible_to,
        namespace="training",
        list_columns=[
            "number",
            "title",
            "category",
            "device_model",
            "product_line",
            "starts_at",
            "status",
            "certifies",
        ],
        detail_fields=[
            "number",
            "title",
            "topic",
            "category",
            "device_model",
            "product_line",
            "trainer",
            "trainer_name",
            "starts_at",
            "ends_at",
            "place",
            "materials",
            "status",
            "pass_mark",
            "practical_required",
            "certifies",
            "certification_months",
            "notes",
        ],
        export_fields=[
            "id",
            "number",
            "title",
            "category",
            "device_model",
            "product_line",
            "trainer",
            "trainer_name",
            "starts_at",
            "status",
            "pass_mark",
            "certifies",
        ],
        form_class=TrainingSessionForm,
        filterset_class=SessionFilter,
        serializer_class=TrainingSessionSerializer,
        search_fields=["number", "title"],
        ordering_fields=["starts_at", "number"],
        default_ordering=["-starts_at", "-pk"],
        select_related=["device_model", "product_line", "trainer", "topic"],
        create=session_create_from_data,
        update=_session_update,
        delete=None,
        organization_scoped=False,
        detail_view=SessionDetailView,
    )
)


# --- Certifications ---------------------------------------------------------------------------


class CertificationGrantForm(forms.Form):
    """Grant a certification by hand (recognised external training), with the reason."""

    person = PersonChoiceField(
        label=gettext_lazy("Person"), queryset=None, widget=person_autocomplete()
    )
    device_model = forms.ModelChoiceField(
        label=gettext_lazy("Device model"), queryset=None, required=False
    )
    product_line = forms.ModelChoiceField(
        label=gettext_lazy("Product line"), queryset=None, required=False
    )
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), widget=DATE_WIDGET)
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=DATE_WIDGET,
        help_text=gettext_lazy("Leave empty for the usual period."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(
        self, data: Any = None, files: Any = None, instance: Any = None, user: Any = None
    ) -> None:
        super().__init__(data=data, files=files)
        self.fields["person"].queryset = trainees_visible_to(user)
        self.fields["device_model"].queryset = device_models_visible_to(user)
        self.fields["product_line"].queryset = product_lines_visible_to(user)
        self.version = None
        _bootstrap(self)


class RevokeForm(forms.Form):
    on = forms.DateField(label=gettext_lazy("Revoked from"), widget=DATE_WIDGET)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()
        _bootstrap(self)


class CertificationDetailView(ResourceDetailView):
    """The certification's page adds whether it holds today, what it renewed and what
    renewed it, and the revoke form."""

    extra_template = "training/certification_panel.html"
    bound_revoke: Any = None

    def extra_context_for(self, obj: Certification) -> dict[str, Any]:
        user = self.request.user
        today = timezone.localdate()
        may_revoke = (
            user.has_perm("training.change_certification")
            and obj.revoked_on is None
            and obj.valid_until >= today
        )
        return {
            "valid_today": obj.is_valid_on(today),
            "renewals": list(certifications_visible_to(user).filter(renews=obj).order_by("pk")),
            "may_revoke": may_revoke,
            "revoke_form": (self.bound_revoke or RevokeForm()) if may_revoke else None,
        }


certifications = register(
    Resource(
        name="certifications",
        model=Certification,
        selector=certifications_visible_to,
        namespace="training",
        list_columns=[
            "person",
            "device_model",
            "product_line",
            "valid_from",
            "valid_until",
            "revoked_on",
            "session",
        ],
        detail_fields=[
            "person",
            "device_model",
            "product_line",
            "valid_from",
            "valid_until",
            "session",
            "renews",
            "revoked_on",
            "revoked_reason",
            "created_at",
        ],
        export_fields=[
            "id",
            "person",
            "device_model",
            "product_line",
            "valid_from",
            "valid_until",
            "session",
            "renews",
            "revoked_on",
        ],
        form_class=CertificationGrantForm,
        filterset_class=CertificationFilter,
        serializer_class=CertificationSerializer,
        ordering_fields=["valid_until", "valid_from"],
        default_ordering=["valid_until", "pk"],
        select_related=["person", "device_model", "product_line", "session"],
        create=certification_grant_from_data,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=CertificationDetailView,
    )
)


# --- Views ------------------------------------------------------------------------------------


def _detail_again(
    view_class: type[ResourceDetailView],
    resource: Resource,
    request: HttpRequest,
    pk: int,
    status: int,
    **state: Any,
) -> HttpResponse:
    view = view_class()
    view.resource = resource
    view.request = request
    view.kwargs = {"pk": pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=pk)
    response.status_code = status
    return response


def _errors_onto_rows(rows: Any, error: DomainError) -> None:
    """Put a service's refusal on the row and field it names (results.<n>.<field>, n counted
    over the rows with a person, as they were sent)."""
    filled = [form for form in rows if form.result() is not None]
    for name, problems in error.fields.items():
        parts = name.split(".")
        for problem in problems:
            if parts[0] == "results" and len(parts) == 3 and parts[1].isdigit():
                position = int(parts[1]) - 1
                if 0 <= position < len(filled) and parts[2] in filled[position].fields:
                    filled[position].add_error(parts[2], problem)
                    continue
            rows.non_form_errors().append(problem)


@login_required
@require_POST
def session_results(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the results from the form on the session page; a refusal shows the page again
    with what was typed kept and the problems on their rows."""
    user = request.user
    if not user.has_perm("training.view_trainingsession"):
        raise Http404
    session = get_object_or_404(sessions_visible_to(user), pk=pk)
    rows = _result_rows(session, user, request.POST)
    if not rows.is_valid():
        return _detail_again(SessionDetailView, staff_trainings, request, pk, 400, bound_rows=rows)
    results = [row for row in (form.result() for form in rows) if row is not None]
    try:
        session_results_record(actor=user, session=session, results=results)
    except DomainError as error:
        messages.error(request, error.message)
        _errors_onto_rows(rows, error)
        return _detail_again(
            SessionDetailView, staff_trainings, request, pk, error.status, bound_rows=rows
        )
    messages.success(
        request, _("The results of %(session)s are recorded.") % {"session": session.number}
    )
    return redirect("training:staff-trainings-detail", pk=session.pk)


session_results.resource = staff_trainings  # type: ignore[attr-defined]


@login_required
@require_POST
def certification_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke from the certification's page."""
    user = request.user
    if not user.has_perm("training.view_certification"):
        raise Http404
    certification = get_object_or_404(certifications_visible_to(user), pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _detail_again(
            CertificationDetailView, certifications, request, pk, 400, bound_revoke=form
        )
    try:
        certification_revoke(
            actor=user,
            certification=certification,
            on=form.cleaned_data["on"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        for name, problems in error.fields.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return _detail_again(
            CertificationDetailView, certifications, request, pk, error.status, bound_revoke=form
        )
    messages.success(request, _("The certification is revoked."))
    return redirect("training:certifications-detail", pk=certification.pk)


certification_revoke_view.resource = certifications  # type: ignore[attr-defined]


@login_required
@require_GET
def trainee_options(request: HttpRequest) -> HttpResponse:
    """People matching `q` (name or login) for the attendee and grant autocompletes."""
    from django.db.models import Q

    user = request.user
    if not (
        user.has_perm(RECORD_PERMISSION)
        or user.has_perm("training.add_certification")
        or user.has_perm("training.add_trainingsession")
    ):
        raise Http404
    text = request.GET.get("q", "").strip()
    people = trainees_visible_to(user)
    if text:
        people = people.filter(
            Q(username__icontains=text)
            | Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
        )
    return autocomplete_response(
        people.order_by("username", "pk"),
        label=_person_label,
        detail=lambda person: str(person.organization or ""),
    )


def staff_record_person(request: HttpRequest, pk: int) -> Any:
    """The person whose record `request.user` may read, or 404: internal staff with the right
    to read certifications read anyone's on the staff; anyone else only their own."""
    from medservice.accounts.models import User
    from medservice.customers.choices import OrganizationKind
    from medservice.customers.selectors import user_scope

    user = request.user
    if not user.has_perm("training.view_certification"):
        raise Http404
    if user_scope(user) == "internal":
        # Anyone on the company's or a distributor's staff, past staff included: a record
        # outlives the person's account.
        staff = User.objects.filter(
            organization__kind__in=[OrganizationKind.COMPANY, OrganizationKind.DISTRIBUTOR]
        )
        return get_object_or_404(staff.select_related("organization"), pk=pk)
    if user.pk == pk and user_scope(user) == "distributor":
        return get_object_or_404(User, pk=pk)
    raise Http404


@login_required
@require_GET
def staff_record(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's training record, printable: the trainings with their scores, the
    certifications with their validity, and their performance reviews and violations."""
    user = request.user
    person = staff_record_person(request, pk)
    today = timezone.localdate()
    attendances = list(
        attendances_visible_to(user)
        .filter(person=person)
        .select_related("session__device_model", "session__product_line")
        .order_by("-session__starts_at", "-pk")
    )
    certifications = [
        {"certification": certification, "valid_today": certification.is_valid_on(today)}
        for certification in certifications_visible_to(user)
        .filter(person=person)
        .select_related("device_model", "product_line", "session", "renews")
        .order_by("-valid_until", "-pk")
    ]
    reviews = violations = None
    if user.has_perm("training.view_performancereview"):
        reviews = list(
            reviews_visible_to(user)
            .filter(person=person)
            .select_related("reviewer")
            .order_by("-period_end", "-pk")
        )
    if user.has_perm("training.view_violation"):
        violations = list(
            violations_visible_to(user).filter(person=person).order_by("-occurred_on", "-pk")
        )
    return render(
        request,
        "training/staff_record.html",
        {
            "person": person,
            "attendances": attendances,
            "certifications": certifications,
            "reviews": reviews,
            "violations": violations,
            "printed_on": today,
        },
    )


staff_record.scoping_exempt = (  # type: ignore[attr-defined]
    "scoped in the view (staff_record_person): internal staff with training.view_certification "
    "read anyone on the staff, a distributor's engineer only themselves, anyone else 404"
)


urlpatterns = [
    path("staff-trainings/people/options/", trainee_options, name="trainee-options"),
    *resource_urlpatterns(training_plans),
    *resource_urlpatterns(training_topics),
    *resource_urlpatterns(staff_trainings),
    path("staff-trainings/<int:pk>/results/", session_results, name="staff-training-results"),
    *resource_urlpatterns(certifications),
    path(
        "certifications/<int:pk>/revoke/",
        certification_revoke_view,
        name="certification-revoke",
    ),
    path("people/<int:pk>/record/", staff_record, name="staff-record"),
]
