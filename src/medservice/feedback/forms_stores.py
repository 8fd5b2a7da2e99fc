"""Forms and list filters of the stores' books and the correspondence archive. Forms check
shape and scope (choices come from the selectors); the services decide and their refusals come
back on the named fields. Few fields and big inputs: store staff use them on a phone."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.attachments import attachment_check
from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to
from medservice.feedback.choices import (
    LetterDirection,
    LetterKind,
    OpinionCategory,
    ShortageStatus,
)
from medservice.feedback.models import (
    Letter,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from medservice.feedback.selectors_stores import (
    is_store,
    store_profile_allowed,
    store_refusal,
    store_within_reach,
    stores_visible_to,
)

DATE = {"type": "date"}


def _store_field(form: forms.BaseForm, user: Any) -> None:
    """A store is chosen among the organisations the user may see; one that is not a store is
    refused by name (the service checks it again)."""
    if "store" in form.fields:
        form.fields["store"].queryset = organizations_visible_to(user)
        form.fields["store"].widget = organization_autocomplete()
        form.fields["store"].widget.attrs.setdefault("class", "form-control")


def _clean_store(form: forms.BaseForm, *, profile: bool = False) -> Any:
    store = form.cleaned_data.get("store")
    if store is not None and not (store_profile_allowed(store) if profile else is_store(store)):
        raise forms.ValidationError(store_refusal(store, profile=profile))
    if store is not None and not store_within_reach(form.user, store):
        raise forms.ValidationError(
            _("%(organization)s is not one of your stores.") % {"organization": store}
        )
    return store


def _users_for(user: Any) -> Any:
    from medservice.accounts.models import User
    from medservice.customers.selectors import organization_ids_visible_to

    users = User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
    ids = organization_ids_visible_to(user)
    return users if ids is None else users.filter(organization__in=ids)


class StoreProfileForm(ResourceForm):
    class Meta:
        model = StoreProfile
        fields = [
            "store", "regulator_name", "supervision_phone", "store_complaint_phone",
            "head_office_complaint_phone", "closes_at", "keeps_opinion_book", "manager",
            "quality_person", "notes",
        ]  # fmt: skip
        widgets = {
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _store_field(self, self.user)
        if self.instance.pk:
            self.fields["store"].disabled = True
        for name in ("manager", "quality_person"):
            self.fields[name].queryset = _users_for(self.user)

    def clean_store(self) -> Any:
        return _clean_store(self, profile=True)


class OpinionEntryForm(ResourceForm):
    class Meta:
        model = OpinionEntry
        fields = [
            "store", "entry_date", "category", "content", "customer_name", "customer_phone",
            "device_model", "batch_number", "product_text", "answer",
        ]  # fmt: skip
        widgets = {
            "entry_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "content": forms.Textarea(attrs={"rows": 3}),
            "answer": forms.Textarea(attrs={"rows": 3}),
            "customer_name": forms.TextInput(attrs={"autocomplete": "off"}),
            "customer_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _store_field(self, self.user)
        if self.instance.pk:
            self.fields["store"].disabled = True
        else:
            self.fields["entry_date"].initial = timezone.localdate()
            own = getattr(self.user, "organization", None)
            if own is not None and is_store(own):
                self.fields["store"].initial = own.pk
        self.fields["device_model"].queryset = device_models_visible_to(self.user)

    def clean_store(self) -> Any:
        return _clean_store(self)


class OpinionReviewForm(ResourceForm):
    class Meta:
        model = OpinionBookReview
        fields = ["store", "findings", "quality_safety_found"]
        widgets = {"findings": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _store_field(self, self.user)
        own = getattr(self.user, "organization", None)
        if own is not None and is_store(own):
            self.fields["store"].initial = own.pk

    def clean_store(self) -> Any:
        return _clean_store(self)


class ShortageEntryForm(ResourceForm):
    class Meta:
        model = ShortageEntry
        fields = [
            "store", "requested_on", "device_model", "part", "product_text", "quantity",
            "customer_name", "customer_phone", "customer_email",
        ]  # fmt: skip
        widgets = {
            "requested_on": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "customer_name": forms.TextInput(attrs={"autocomplete": "off"}),
            "customer_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "customer_email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from medservice.inventory.forms import part_autocomplete
        from medservice.inventory.selectors import parts_visible_to

        super().__init__(*args, **kwargs)
        _store_field(self, self.user)
        if self.instance.pk:
            self.fields["store"].disabled = True
        else:
            self.fields["requested_on"].initial = timezone.localdate()
            own = getattr(self.user, "organization", None)
            if own is not None and is_store(own):
                self.fields["store"].initial = own.pk
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        self.fields["part"].queryset = parts_visible_to(self.user)
        self.fields["part"].widget = part_autocomplete()
        self.fields["part"].widget.attrs.setdefault("class", "form-control")

    def clean_store(self) -> Any:
        return _clean_store(self)


class ShortageCloseForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (ShortageStatus.FULFILLED.value, ShortageStatus.FULFILLED.label),
            (ShortageStatus.CANCELLED.value, ShortageStatus.CANCELLED.label),
        ],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )  # fmt: skip


# --- Correspondence -----------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Scans of the letter or fax (photos or PDFs), each checked by its content."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": "image/*,application/pdf", "class": "form-control"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in uploads]
        for upload in cleaned:
            try:
                attachment_check(upload, field="files")
            except DomainError as error:
                raise forms.ValidationError(error.message) from error
        return cleaned


def _number_field(queryset: Any, label: Any, help_text: Any) -> forms.ModelChoiceField:
    """A record chosen by typing its number (TS-2026-000123): the page never lists them."""
    return forms.ModelChoiceField(
        queryset=queryset, to_field_name="number", required=False, label=label,
        help_text=help_text, widget=forms.TextInput(attrs={"class": "form-control"}),
        error_messages={"invalid_choice": gettext_lazy("There is no such record in your scope.")},
    )  # fmt: skip


def _related_numbers(form: forms.BaseForm, user: Any) -> None:
    from medservice.quality.selectors import cases_visible_to
    from medservice.tickets.selectors import tickets_visible_to

    form.fields["ticket"] = _number_field(
        tickets_visible_to(user), gettext_lazy("service request"),
        gettext_lazy("Its number, e.g. TS-2026-000123."),
    )  # fmt: skip
    form.fields["quality_case"] = _number_field(
        cases_visible_to(user), gettext_lazy("quality case"),
        gettext_lazy("Its number, e.g. QC-2026-000012."),
    )  # fmt: skip


class LetterForm(ResourceForm):
    files = MultipleFileField(label=gettext_lazy("Scans (photos or PDF)"), required=False)

    class Meta:
        model = Letter
        fields = [
            "kind", "direction", "letter_date", "subject", "organization", "counterpart",
            "their_reference", "device_model", "summary", "ticket", "quality_case",
        ]  # fmt: skip
        widgets = {
            "letter_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["organization"].widget = organization_autocomplete()
        self.fields["organization"].widget.attrs.setdefault("class", "form-control")
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        _related_numbers(self, self.user)
        if not self.instance.pk:
            self.fields["letter_date"].initial = timezone.localdate()


class EmailUploadForm(forms.Form):
    """File an e-mail from the original message saved from the mail program (.eml)."""

    file = forms.FileField(
        label=gettext_lazy("E-mail (.eml)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".eml,message/rfc822",
                                               "class": "form-control"}),
    )  # fmt: skip
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("organisation"))
    device_model = forms.ModelChoiceField(
        queryset=None, required=False, label=gettext_lazy("device model"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["organization"].queryset = organizations_visible_to(user)
        self.fields["organization"].widget = organization_autocomplete()
        self.fields["organization"].widget.attrs.setdefault("class", "form-control")
        self.fields["device_model"].queryset = device_models_visible_to(user)
        _related_numbers(self, user)


class AttachForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )


# --- List filters -------------------------------------------------------------------------------


class _StoreFilterSet(django_filters.FilterSet):
    store = django_filters.ModelChoiceFilter(
        queryset=None, label=gettext_lazy("store"), widget=forms.Select
    )

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        if "store" in self.filters:
            self.filters["store"].queryset = stores_visible_to(user).order_by("name")
        if "part" in self.filters:
            # Ids only: the spare-parts catalogue is too long to render as a list.
            self.filters["part"].extra["widget"] = forms.NumberInput
        for item in self.filters.values():
            widget = item.field.widget
            if isinstance(widget, django_filters.widgets.RangeWidget):
                for inner in widget.widgets:
                    inner.attrs.setdefault("class", "form-control form-control-sm")
                    inner.input_type = "date"
            else:
                css = "form-select" if isinstance(widget, forms.Select) else "form-control"
                widget.attrs.setdefault("class", f"{css} {css}-sm")


class StoreProfileFilter(_StoreFilterSet):
    class Meta:
        model = StoreProfile
        fields = ["store", "keeps_opinion_book"]


class OpinionEntryFilter(_StoreFilterSet):
    entry_date = django_filters.DateFromToRangeFilter(label=gettext_lazy("written between"))
    category = django_filters.ChoiceFilter(choices=OpinionCategory.choices)
    without_case = django_filters.BooleanFilter(
        field_name="quality_case", lookup_expr="isnull", label=gettext_lazy("no quality case")
    )

    class Meta:
        model = OpinionEntry
        fields = ["store", "category", "device_model"]


class OpinionReviewFilter(_StoreFilterSet):
    day = django_filters.DateFromToRangeFilter(label=gettext_lazy("day between"))

    class Meta:
        model = OpinionBookReview
        fields = ["store", "quality_safety_found"]


class MissedReviewFilter(_StoreFilterSet):
    day = django_filters.DateFromToRangeFilter(label=gettext_lazy("day between"))

    class Meta:
        model = MissedReview
        fields = ["store"]


class ShortageEntryFilter(_StoreFilterSet):
    requested_on = django_filters.DateFromToRangeFilter(label=gettext_lazy("asked between"))
    status = django_filters.ChoiceFilter(choices=ShortageStatus.choices)

    class Meta:
        model = ShortageEntry
        fields = ["store", "status", "device_model", "part"]


class LetterFilter(django_filters.FilterSet):
    letter_date = django_filters.DateFromToRangeFilter(label=gettext_lazy("dated between"))
    kind = django_filters.ChoiceFilter(choices=LetterKind.choices)
    direction = django_filters.ChoiceFilter(choices=LetterDirection.choices)

    class Meta:
        model = Letter
        fields = ["kind", "direction", "organization", "device_model", "ticket", "quality_case"]

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        from medservice.customers.filtersets import scope_customer_filters

        super().__init__(*args, request=request, **kwargs)
        scope_customer_filters(self.filters, getattr(request, "user", None))
        for name in ("ticket", "quality_case"):
            # Ids only: a filter never renders the whole list of requests or cases.
            self.filters[name].extra["widget"] = forms.NumberInput
        for item in self.filters.values():
            widget = item.field.widget
            if isinstance(widget, django_filters.widgets.RangeWidget):
                for inner in widget.widgets:
                    inner.attrs.setdefault("class", "form-control form-control-sm")
                    inner.input_type = "date"
            else:
                css = "form-select" if isinstance(widget, forms.Select) else "form-control"
                widget.attrs.setdefault("class", f"{css} {css}-sm")
