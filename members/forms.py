"""Input validation for onboarding, profiles and the directory. No domain writes here."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from members.models import (
    Agency,
    Goal,
    JurisdictionLevel,
    MembershipStatus,
    Role,
    Sector,
    TrainingKind,
    TrainingTopic,
    User,
)

AGENCY_FORM_FIELDS = [
    "name",
    "sector",
    "level",
    "jurisdiction",
    "is_rural",
    "is_tribal",
    "address",
    "website",
    "main_contact_name",
    "main_contact_email",
    "main_contact_phone",
    "after_hours_phone",
]


class AgencyForm(forms.ModelForm):
    class Meta:
        model = Agency
        fields = AGENCY_FORM_FIELDS
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sector") in Sector.with_levels() and not cleaned.get("level"):
            self.add_error("level", _("Say whether this is a local, county, state, federal or tribal agency."))
        return cleaned


class OnboardForm(AgencyForm):
    """A new partner organization and the liaison to invite, in one step."""

    liaison_name = forms.CharField(label=_("Liaison's full name"), max_length=200)
    liaison_email = forms.EmailField(label=_("Liaison's email"), help_text=_("We email them a single-use link."))
    roles_and_responsibilities = forms.CharField(
        label=_("Expected roles and responsibilities"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A first draft; the liaison completes it when they join."),
    )

    class Meta(AgencyForm.Meta):
        fields = AGENCY_FORM_FIELDS


class ExistingAgencyOnboardForm(forms.Form):
    """Add an agency that already takes part in another task force of this deployment."""

    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label=_("Agency"))
    liaison_name = forms.CharField(label=_("Liaison's full name"), max_length=200)
    liaison_email = forms.EmailField(label=_("Liaison's email"))

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies if agencies is not None else Agency.objects.none()


class InviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.MEMBER, Role.MEMBER.label), (Role.LIAISON, _("Alternate liaison"))],
        initial=Role.MEMBER,
    )


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    title = forms.CharField(label=_("Title"), max_length=200, required=False, help_text=_("e.g. Detective Sergeant"))
    agency_role = forms.CharField(
        label=_("Your role in your agency"), max_length=200, required=False, help_text=_("e.g. Special Victims Unit")
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    password1 = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Repeat the password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    confidentiality = forms.BooleanField(
        label=_("I will keep what I learn about cases and victims in this task force confidential."),
        required=True,
    )

    def __init__(self, *args, email: str = "", needs_password: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        if not needs_password:
            del self.fields["password1"]
            del self.fields["password2"]

    def clean(self):
        cleaned = super().clean()
        if "password1" in self.fields:
            first, second = cleaned.get("password1"), cleaned.get("password2")
            if first and second and first != second:
                self.add_error("password2", _("The two passwords differ."))
            elif first:
                probe = User(email=self.email, full_name=cleaned.get("full_name", ""))
                try:
                    password_validation.validate_password(first, probe)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        return cleaned


class MembershipProfileForm(forms.Form):
    roles_and_responsibilities = forms.CharField(
        label=_("Roles and responsibilities in this task force"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What your agency does for the task force: e.g. investigates CSEC referrals within 24 hours."),
    )
    response_commitments = forms.CharField(
        label=_("Response when a case or victim comes to you"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Keep it realistic for your agency's resources."),
    )
    alternate_liaison = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Alternate liaison")
    )
    signatory = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Authorized signatory"),
        help_text=_("Who signs agreements (MOUs) for your agency."),
    )
    acknowledge_commitment = forms.BooleanField(
        required=False,
        label=_("Our agency commits to the task force's mission and to taking part in its work."),
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("alternate_liaison", "signatory"):
            self.fields[name].queryset = people if people is not None else User.objects.none()


class PersonForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "title", "agency_role", "phone", "after_hours_phone"]


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False, label=_("Roles in this task force")
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
    confirm = forms.BooleanField(label=_("I understand the agency loses access to this task force at once."))


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    sector = forms.ChoiceField(label=_("Sector"), required=False, choices=[("", _("All sectors")), *Sector.choices])
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("All levels")), *JurisdictionLevel.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *MembershipStatus.choices]
    )
    jurisdiction = forms.CharField(label=_("Jurisdiction"), required=False, max_length=100)


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ["title", "objective", "target_on", "status", "progress"]
        widgets = {"target_on": forms.DateInput(attrs={"type": "date"}), "objective": forms.Textarea(attrs={"rows": 3})}


class SubcommitteeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    charge = forms.CharField(label=_("Charge"), widget=forms.Textarea(attrs={"rows": 3}))
    chair = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("Chair"))
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, label=_("Members"), widget=forms.CheckboxSelectMultiple
    )
    goals = forms.ModelMultipleChoiceField(
        queryset=Goal.objects.none(), required=False, label=_("Goals it serves"), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, people=None, goals=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chair"].queryset = people if people is not None else User.objects.none()
        self.fields["members"].queryset = people if people is not None else User.objects.none()
        self.fields["goals"].queryset = goals if goals is not None else Goal.objects.none()
        self.fields["chair"].label_from_instance = self.fields["members"].label_from_instance = _person_label


def _person_label(person: User) -> str:
    return f"{person.full_name} — {person.agency.name}" if person.agency_id else person.full_name


class TrainingEventForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=TrainingKind.choices)
    topics = forms.ModelMultipleChoiceField(
        queryset=TrainingTopic.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label=_("Topics")
    )
    trainer = forms.CharField(label=_("Trainer"), max_length=200, required=False)
    held_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=2880, initial=60)
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.none(), required=False, label=_("Agency"), help_text=_("For agency-internal training.")
    )
    attendees = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label=_("Attended")
    )

    def __init__(self, *args, topics=None, agencies=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = topics if topics is not None else TrainingTopic.objects.none()
        self.fields["agency"].queryset = agencies if agencies is not None else Agency.objects.none()
        self.fields["attendees"].queryset = people if people is not None else User.objects.none()
        self.fields["attendees"].label_from_instance = _person_label

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == TrainingKind.INTERNAL and not cleaned.get("agency"):
            self.add_error("agency", _("Say which agency held this internal training."))
        if cleaned.get("kind") != TrainingKind.TEAM_ACTIVITY and not cleaned.get("topics"):
            self.add_error("topics", _("Pick at least one topic, or record it as a team activity."))
        return cleaned


class TrainingTopicForm(forms.ModelForm):
    class Meta:
        model = TrainingTopic
        fields = ["name", "is_core", "valid_for_months"]
