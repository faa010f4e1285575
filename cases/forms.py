"""Input validation for cases, sharing, releases, requests and reviews. No domain writes here."""

from __future__ import annotations

from datetime import datetime, time
from html import escape

from django import forms
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from cases.models import (
    Case,
    CaseStatus,
    FollowUp,
    Level,
    Recommendation,
    Release,
    RiskFlag,
    TraffickingType,
)
from members.models import Membership, User

DATE = forms.DateInput(attrs={"type": "date"})


class AgencyChoiceField(forms.ModelChoiceField):
    """Agencies by name: every choice is already of this task force."""

    def label_from_instance(self, obj: Membership) -> str:
        return obj.agency.name


class AgenciesChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.agency.name


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.full_name} ({obj.agency.name})" if obj.agency_id else obj.full_name


class CaseForm(forms.ModelForm):
    risk_flags = forms.MultipleChoiceField(
        label=_("Risk flags"), choices=RiskFlag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Case
        fields = [
            "number",
            "label",
            "age_band",
            "county",
            "referral_source",
            "trafficking_type",
            "status",
            "confidentiality",
            "risk_flags",
            "summary",
            "service_needs",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 5}),
            "service_needs": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "summary": _(
                "Encrypted. Only people with full access see it; it never appears in email or general minutes."
            ),
            "confidentiality": _("Restricted: only agencies given access. Sealed: only people named one by one."),
        }

    def __init__(self, *args, taskforce=None, lead=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.taskforce = taskforce
        self.lead = lead

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        # A pseudonym, not a name: two or more words of which one is long looks like "Jane Doe".
        words = label.split()
        if len(words) >= 2 and all(len(word.strip(".")) > 2 for word in words):
            raise forms.ValidationError(_("Use initials or an alias (e.g. “J.D.” or “Sparrow”), never a full name."))
        return label

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        # Unique within the lead agency's own numbering only: a task-force-wide check would tell anyone who
        # types a number that some case they cannot see carries it.
        lead_id = self.instance.lead_id if self.instance.pk else getattr(self.lead, "pk", None)
        others = Case.objects.filter(lead_id=lead_id, number=number)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("Your agency already has a case with this number."))
        return number


def filter_selects(form: forms.Form, names: tuple[str, ...]) -> dict[str, SafeString]:
    """{name: the field's labelled <select>} for the filter forms' selects of a few fixed choices (the case lists,
    the directory), the value the request chose selected.

    Built here rather than by a template per select (or crispy-forms): the template engine's filters and
    comparisons per <option> cost about a millisecond a page for a handful of options. Every value is escaped.
    """
    selects = {}
    for name in names:
        field = form[name]
        current = str(field.value() or "")
        options = "".join(
            f'\n    <option value="{escape(str(value))}"{" selected" if str(value) == current else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in field.field.choices
        )
        selects[name] = mark_safe(  # noqa: S308 - every value is escaped
            f'<div class="mb-3">\n  <label for="{escape(field.auto_id)}" class="form-label">{escape(str(field.label))}'
            f'</label>\n  <select name="{escape(field.html_name)}" class="form-select" id="{escape(field.auto_id)}">'
            f"{options}\n  </select>\n</div>"
        )
    return selects


class CaseFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Number or label"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any"))] + CaseStatus.choices, required=False)
    trafficking_type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("Any"))] + TraffickingType.choices, required=False
    )
    agency = AgencyChoiceField(label=_("Agency"), queryset=Membership.objects.none(), required=False)
    due = forms.BooleanField(label=_("Follow-ups due within 7 days"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[
            ("updated", _("Last updated")),
            ("number", _("Case number")),
            ("status", _("Status")),
            ("opened", _("Newest")),
        ],
        required=False,
    )
    per_page = forms.TypedChoiceField(
        label=_("Per page"), choices=[(25, "25"), (50, "50"), (100, "100")], coerce=int, required=False, empty_value=25
    )

    def __init__(self, *args, taskforce=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.taskforce = taskforce
        # Validation only (one query, and only when an agency is asked for): the page renders the dropdown
        # from agency_options(), never by iterating this queryset.
        self.fields["agency"].queryset = Membership.objects.filter(taskforce=taskforce).select_related("agency")

    def agency_options(self) -> SafeString:
        """The agency dropdown's <option>s, the chosen one marked selected (see agency_options)."""
        chosen = self.cleaned_data.get("agency") if self.is_bound and self.is_valid() else None
        return agency_options(self.taskforce, chosen.pk if chosen is not None else None)


# The agency dropdown of the case filters lists every agency of the task force: 2,000 at the statewide size.
# Built through the form's widget that cost more than the rest of the page together, on every list request,
# for choices that change when an agency joins, leaves or is renamed. So the rendered options are cached per
# task force and forgotten whenever a membership or an agency is saved or deleted (cases.apps connects the
# signals); the TTL bounds what a request that read the old names just before a change could put back.
AGENCY_OPTIONS_TTL = 600


def _agency_options_key(taskforce_id: int) -> str:
    # With the database's name: the bench sizes (and test runs) share one Redis, never one database.
    return f"cases:agency-options:{connection.settings_dict['NAME']}:{taskforce_id}"


def agency_options(taskforce, selected: int | None = None) -> SafeString:
    """`<option>`s for every agency of the task force by name (value: the membership), `selected` marked."""
    key = _agency_options_key(taskforce.pk)
    html = cache.get(key)
    if html is None:
        rows = (
            Membership.objects.filter(taskforce=taskforce)
            .order_by("agency__name", "pk")
            .values_list("pk", "agency__name")
        )
        html = str(format_html_join("", '<option value="{}">{}</option>', rows))
        cache.set(key, html, AGENCY_OPTIONS_TTL)
    if selected is not None:
        option = f'<option value="{int(selected)}">'
        html = html.replace(option, f'<option value="{int(selected)}" selected>', 1)
    return mark_safe(html)  # noqa: S308 (built by format_html_join: every name escaped)


def forget_agency_options(taskforce_ids) -> None:
    """Drop the cached dropdowns of these task forces, now and again once the change is committed."""
    keys = [_agency_options_key(pk) for pk in set(taskforce_ids)]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def membership_changed(sender, instance: Membership, **kwargs) -> None:
    forget_agency_options([instance.taskforce_id])


def agency_changed(sender, instance, **kwargs) -> None:
    forget_agency_options(Membership.objects.filter(agency_id=instance.pk).values_list("taskforce_id", flat=True))


def _end_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59)))


class GrantForm(forms.Form):
    grantee_kind = forms.ChoiceField(
        label=_("Share with"),
        choices=[("agency", _("An agency (everyone of it in the task force)")), ("person", _("One named person"))],
        widget=forms.RadioSelect,
        initial="agency",
    )
    membership = AgencyChoiceField(label=_("Agency"), queryset=Membership.objects.none(), required=False)
    person = PersonChoiceField(label=_("Person"), queryset=User.objects.none(), required=False)
    level = forms.ChoiceField(label=_("Access"), choices=Level.choices, initial=Level.SUMMARY)
    justification = forms.CharField(
        label=_("Justification"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this agency or person needs to know. Recorded in the audit log."),
    )
    expires_on = forms.DateField(
        label=_("Access ends on"), required=False, widget=DATE, help_text=_("Leave empty for no end date.")
    )

    def __init__(self, *args, memberships=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships if memberships is not None else Membership.objects.none()
        self.fields["person"].queryset = people if people is not None else User.objects.none()

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("grantee_kind")
        if kind == "agency" and not cleaned.get("membership"):
            self.add_error("membership", _("Choose the agency."))
        if kind == "person" and not cleaned.get("person"):
            self.add_error("person", _("Choose the person."))
        if cleaned.get("expires_on") and cleaned["expires_on"] < timezone.localdate():
            self.add_error("expires_on", _("Choose a date from today on."))
        return cleaned

    @property
    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        return _end_of_day(day) if day else None


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class ReleaseForm(forms.ModelForm):
    agencies = AgenciesChoiceField(
        label=_("Agencies the survivor agreed to share with"),
        queryset=Membership.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Release
        fields = ["agencies", "signed_by", "scope", "signed_on", "expires_on"]
        widgets = {"signed_on": DATE, "expires_on": DATE}

    def __init__(self, *args, memberships=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agencies"].queryset = memberships if memberships is not None else Membership.objects.none()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("signed_on") and cleaned["signed_on"] > timezone.localdate():
            self.add_error("signed_on", _("A release cannot be signed in the future."))
        if cleaned.get("signed_on") and cleaned.get("expires_on") and cleaned["expires_on"] < cleaned["signed_on"]:
            self.add_error("expires_on", _("The release must expire after it was signed."))
        return cleaned


class AccessRequestForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Access needed"), choices=[(Level.FULL, Level.FULL.label), (Level.CONTRIBUTE, Level.CONTRIBUTE.label)]
    )
    justification = forms.CharField(
        label=_("Why you need it"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("decline", _("Decline"))])
    expires_on = forms.DateField(label=_("Access ends on"), required=False, widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "decline" and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Tell the requester why."))
        return cleaned

    @property
    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        return _end_of_day(day) if day else None


class InvolvedAgencyForm(forms.Form):
    membership = AgencyChoiceField(label=_("Agency"), queryset=Membership.objects.none())
    contact = PersonChoiceField(label=_("Contact person"), queryset=User.objects.none(), required=False)
    role = forms.CharField(label=_("Role in the case"), max_length=200, required=False)

    def __init__(self, *args, memberships=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships if memberships is not None else Membership.objects.none()
        self.fields["contact"].queryset = people if people is not None else User.objects.none()

    def clean(self):
        cleaned = super().clean()
        contact, membership = cleaned.get("contact"), cleaned.get("membership")
        if contact and membership and contact.agency_id != membership.agency_id:
            self.add_error("contact", _("The contact must work for that agency."))
        return cleaned


class ReviewForm(forms.Form):
    held_on = forms.DateField(label=_("Reviewed on"), widget=DATE, initial=timezone.localdate)
    participants = forms.ModelMultipleChoiceField(
        label=_("Participants"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only people with full access to this case can take part in its review."),
    )
    discussion = forms.CharField(
        label=_("Discussion summary"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    service_needs = forms.CharField(label=_("Service needs"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    recommendations = forms.ModelMultipleChoiceField(
        label=_("Recommendations"),
        queryset=Recommendation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, eligible=None, recommendations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participants"].queryset = eligible if eligible is not None else User.objects.none()
        self.fields["recommendations"].queryset = (
            recommendations if recommendations is not None else Recommendation.objects.none()
        )


class FollowUpForm(forms.Form):
    task = forms.CharField(label=_("Follow-up"), max_length=500)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("Due"), widget=DATE)

    def __init__(self, *args, eligible=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = eligible if eligible is not None else User.objects.none()


class FollowUpStatusForm(forms.Form):
    status = forms.ChoiceField(choices=FollowUp.Status.choices)


class RecommendationForm(forms.Form):
    text = forms.CharField(label=_("New recommendation"), max_length=200, required=False)
    retire = forms.ModelMultipleChoiceField(
        label=_("Retire (hide from new reviews)"),
        queryset=Recommendation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, recommendations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["retire"].queryset = (
            recommendations if recommendations is not None else Recommendation.objects.none()
        )
