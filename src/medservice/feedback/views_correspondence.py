"""Pages of the correspondence archive beyond the generic ones: a letter's files (download and
add), and filing an e-mail from its .eml."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.views import ResourceDetailView
from medservice.feedback.forms_stores import AttachForm, EmailUploadForm
from medservice.feedback.selectors_stores import letter_files_of, letters_visible_to


class LetterDetailView(ResourceDetailView):
    extra_template = "feedback/correspondence/letter_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        return {
            "letter": obj,
            "files": list(letter_files_of(obj)),
            "attach_form": AttachForm(),
            "can_attach": self.request.user.has_perm("feedback.change_letter"),
        }


def _letter(request: HttpRequest, pk: int) -> Any:
    if not request.user.has_perm("feedback.view_letter"):
        raise Http404
    return get_object_or_404(letters_visible_to(request.user), pk=pk)


@login_required
def letter_file(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    letter = _letter(request, pk)
    item = get_object_or_404(letter.files.all(), pk=file_id)
    return FileResponse(
        item.file.open("rb"), filename=item.original_name, content_type=item.content_type
    )


@login_required
@require_POST
def letter_attach(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_correspondence import letter_file_attach

    letter = _letter(request, pk)
    if not request.user.has_perm("feedback.change_letter"):
        raise Http404
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file."))
    else:
        try:
            letter_file_attach(actor=request.user, letter=letter, upload=form.cleaned_data["file"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("File added."))
    return redirect("feedback:correspondence-detail", pk=pk)


@login_required
def letter_from_email_view(request: HttpRequest) -> HttpResponse:
    """Upload an e-mail saved from the mail program; it is filed with its own headers."""
    from medservice.feedback.services_correspondence import letter_from_email

    if not request.user.has_perm("feedback.add_letter"):
        raise Http404
    bound = request.method == "POST"
    form = EmailUploadForm(
        request.POST if bound else None, request.FILES if bound else None, user=request.user
    )
    status = 200
    if bound:
        if form.is_valid():
            try:
                data = dict(form.cleaned_data)
                letter = letter_from_email(actor=request.user, upload=data.pop("file"), **data)
            except DomainError as error:
                form.add_error(None, error.message)
                for name, problems in error.fields.items():
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, problem)
                status = error.status
            else:
                messages.success(request, _("Filed %(letter)s.") % {"letter": letter})
                return redirect("feedback:correspondence-detail", pk=letter.pk)
        else:
            status = 400
    return render(request, "feedback/correspondence/from_email.html", {"form": form}, status=status)
