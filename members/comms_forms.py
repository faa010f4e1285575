"""Input validation for announcements and the resource library. No domain writes here."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.comms import ACCEPT_ATTRIBUTE
from members.models import DocumentKind, LibraryFolder, Membership, Subcommittee, Tier


def _agency_label(membership: Membership) -> str:
    return membership.agency.name


class _TierFields(forms.Form):
    tier = forms.ChoiceField(label=_("Who may read it"), choices=Tier.choices, initial=Tier.ALL_MEMBERS)
    agencies = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Agencies"),
        help_text=_("Only for “named agencies”: their people and the coordinators may read it."),
    )

    def __init__(self, *args, memberships=None, coordinator: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agencies"].queryset = memberships if memberships is not None else Membership.objects.none()
        self.fields["agencies"].label_from_instance = _agency_label
        if not coordinator:
            self.fields["tier"].choices = [(v, label) for v, label in Tier.choices if v != Tier.COORDINATORS]

    def clean(self):
        data = super().clean()
        if data.get("tier") == Tier.NAMED_AGENCIES and not data.get("agencies"):
            self.add_error("agencies", _("Name at least one agency."))
        return data


class AnnouncementForm(_TierFields):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=20000)
    subcommittee = forms.ModelChoiceField(
        queryset=Subcommittee.objects.none(),
        required=False,
        label=_("Subcommittee"),
        help_text=_("Optional: an announcement about one subcommittee's work emails only its members."),
    )
    send_email = forms.BooleanField(label=_("Also email it to everyone who may read it"), required=False, initial=False)
    field_order = ["title", "body", "tier", "agencies", "subcommittee", "send_email"]

    def __init__(self, *args, subcommittees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subcommittee"].queryset = (
            subcommittees if subcommittees is not None else Subcommittee.objects.none()
        )


class FolderForm(forms.Form):
    name = forms.CharField(label=_("Folder name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class DocumentForm(_TierFields):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices, initial=DocumentKind.PROTOCOL)
    folder = forms.ModelChoiceField(queryset=LibraryFolder.objects.none(), required=False, label=_("Folder"))
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, Word, Excel, PowerPoint, PNG, JPEG, plain text or CSV."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
    )
    field_order = ["title", "kind", "folder", "description", "file", "tier", "agencies"]

    def __init__(self, *args, folders=None, with_file: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].queryset = folders if folders is not None else LibraryFolder.objects.none()
        if not with_file:
            del self.fields["file"]


class VersionForm(forms.Form):
    file = forms.FileField(label=_("New version"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)
