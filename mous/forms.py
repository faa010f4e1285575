"""Input validation for MOU pages; no domain writes here."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import Membership, User
from mous.models import DeclineReason, Mou

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DateInput(forms.DateInput):
    input_type = "date"


class MembershipChoices(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.agency.name} — {obj.agency.sector_label}"


class MouCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, initial=_("Memorandum of Understanding"))
    parties = MembershipChoices(queryset=Membership.objects.none(), label=_("Party agencies"))
    start_from = forms.ChoiceField(label=_("Start from"))
    effective_on = forms.DateField(label=_("Effective on"), required=False, widget=DateInput)
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DateInput)

    def __init__(self, *args, memberships, earlier: list[Mou], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parties"].queryset = memberships
        self.fields["start_from"].choices = [("template", _("The task force MOU template"))] + [
            (str(m.pk), _("A copy of “%(title)s”") % {"title": m.title}) for m in earlier
        ]

    def clean(self):
        data = super().clean()
        if data.get("effective_on") and data.get("expires_on") and data["expires_on"] <= data["effective_on"]:
            self.add_error("expires_on", _("The agreement must expire after it takes effect."))
        return data


class MouSettingsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    effective_on = forms.DateField(label=_("Effective on"), required=False, widget=DateInput)
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DateInput)
    reminder_delay_days = forms.IntegerField(
        label=_("First signing reminder after (days)"),
        min_value=1,
        max_value=30,
        help_text=_("Then every 2 days, at most 5 reminders within 30 days."),
    )
    parties = MembershipChoices(queryset=Membership.objects.none(), label=_("Party agencies"), required=False)

    def __init__(self, *args, memberships, parties_locked: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parties"].queryset = memberships
        if parties_locked:
            self.fields["parties"].disabled = True
            self.fields["parties"].help_text = _("Parties are fixed once the agreement is out for signature.")

    def clean(self):
        data = super().clean()
        if data.get("effective_on") and data.get("expires_on") and data["expires_on"] <= data["effective_on"]:
            self.add_error("expires_on", _("The agreement must expire after it takes effect."))
        return data


class ClauseForm(forms.Form):
    heading = forms.CharField(label=_("Heading"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Markdown: **bold**, *italic*, - lists, [links](https://…). HTML is shown as text."),
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)


class CirculateForm(forms.Form):
    note = forms.CharField(label=_("What changed (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ObjectionForm(forms.Form):
    clause_number = forms.TypedChoiceField(label=_("Clause"), coerce=int)
    reason = forms.CharField(label=_("Why your agency cannot accept it"), widget=forms.Textarea(attrs={"rows": 4}))
    proposed_wording = forms.CharField(
        label=_("Proposed wording (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )

    def __init__(self, *args, clauses, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clause_number"].choices = [(c.number, f"{c.number}. {c.heading}") for c in clauses]


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Add to the discussion"), widget=forms.Textarea(attrs={"rows": 3}))


class AcceptForm(forms.Form):
    apply_wording = forms.BooleanField(
        label=_("Put the proposed wording into the draft clause"), required=False, initial=True
    )
    note = forms.CharField(label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RoutingForm(forms.Form):
    approver_1 = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("First approver"))
    approver_2 = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("Second approver"))
    copied = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, label=_("Copied on sign and decline"),
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    signing_in_order = forms.BooleanField(
        label=_("Approvers act in order, before the signatory signs"), required=False, initial=True
    )

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("approver_1", "approver_2", "copied"):
            self.fields[name].queryset = people

    def clean(self):
        data = super().clean()
        approvers = [data.get("approver_1"), data.get("approver_2")]
        approvers = [a for a in approvers if a is not None]
        if len(set(approvers)) != len(approvers):
            self.add_error("approver_2", _("Choose two different people."))
        data["approvers"] = approvers
        return data


class SignForm(forms.Form):
    typed_name = forms.CharField(label=_("Your full name"), max_length=200)
    typed_title = forms.CharField(label=_("Your title"), max_length=200)
    attest = forms.BooleanField(
        label=_("I am authorized to sign this agreement on behalf of my agency and bind it to its terms."),
        required=True,
    )
    document_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class DeclineForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=DeclineReason.choices)
    text = forms.CharField(label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 3}))


class VerifyForm(forms.Form):
    pdf = forms.FileField(label=_("The PDF you received"), required=False)
    sha256 = forms.CharField(label=_("…or its document hash (SHA-256)"), required=False, max_length=80)

    def clean_sha256(self) -> str:
        value = "".join(self.cleaned_data.get("sha256", "").split()).lower()
        if value and not SHA256.match(value):
            raise forms.ValidationError(_("A SHA-256 hash is 64 hexadecimal characters."))
        return value

    def clean(self):
        data = super().clean()
        if not data.get("pdf") and not data.get("sha256") and not self.errors:
            raise forms.ValidationError(_("Upload the PDF or enter its hash."))
        pdf = data.get("pdf")
        if pdf is not None and pdf.size > 20 * 1024 * 1024:
            self.add_error("pdf", _("That file is too large to be one of our PDFs."))
        elif pdf is not None:
            # Checked by its bytes, like every upload: an HTML page or a program named .pdf goes no further.
            pdf.seek(0)
            head = pdf.read(1024)
            pdf.seek(0)
            if b"%PDF-" not in head:
                self.add_error("pdf", _("That file is not a PDF."))
        return data


class RenewForm(forms.Form):
    effective_on = forms.DateField(label=_("New term starts"), required=False, widget=DateInput)
    expires_on = forms.DateField(label=_("New term ends"), required=False, widget=DateInput)
