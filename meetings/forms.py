"""Input validation for scheduling, agendas, the live run, minutes and feedback. No domain writes here."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.models import Frequency, ItemType, Meeting, Outcome, ReportStatus, Tier
from members import comms
from members.models import Goal, Membership, MembershipStatus, Subcommittee, User
from taskforce.models import TIME_ZONE_CHOICES, TaskForce


def people_of(taskforce: TaskForce):
    """Active people with a role in the task force, for presenter, owner and invitee pickers."""
    return (
        User.objects.filter(taskforce_roles__taskforce=taskforce, is_active=True, offboarded_at__isnull=True)
        .select_related("agency")
        .distinct()
        .order_by("full_name")
    )


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.full_name} ({obj.agency.name})" if obj.agency_id else obj.full_name


class PeopleChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.full_name} ({obj.agency.name})" if obj.agency_id else obj.full_name


class AgencyChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.agency.name


DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class _Logistics(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    start_time = forms.TimeField(label=_("Starts at"), widget=TIME)
    end_time = forms.TimeField(label=_("Ends at"), widget=TIME)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES)
    location = forms.CharField(label=_("Place"), max_length=300, required=False)
    video_url = forms.URLField(label=_("Video link"), required=False, assume_scheme="https")
    facilitator = PersonChoice(label=_("Facilitator"), queryset=User.objects.none(), required=False)
    note_taker = PersonChoice(label=_("Note-taker"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, **kwargs)
        self.taskforce = taskforce
        people = people_of(taskforce)
        self.fields["facilitator"].queryset = people
        self.fields["note_taker"].queryset = people
        self.fields["time_zone"].initial = taskforce.time_zone

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", _("The meeting must end after it starts."))
        return cleaned


class SeriesForm(_Logistics):
    frequency = forms.ChoiceField(label=_("Repeats"), choices=Frequency.choices, initial=Frequency.MONTHLY_WEEKDAY)
    starts_on = forms.DateField(label=_("First meeting on"), widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), widget=DATE, required=False)
    count = forms.IntegerField(label=_("Or after this many meetings"), min_value=1, max_value=60, required=False)
    call_opens_days = forms.IntegerField(
        label=_("Call for agenda items opens (days before)"), min_value=1, max_value=90, initial=14
    )
    call_closes_days = forms.IntegerField(label=_("Call closes (days before)"), min_value=0, max_value=60, initial=3)

    field_order = ["title", "frequency", "starts_on", "start_time", "end_time", "time_zone", "ends_on", "count"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("ends_on") and not cleaned.get("count"):
            self.add_error("count", _("Say when the series ends: a date or a number of meetings."))
        if cleaned.get("ends_on") and cleaned.get("starts_on") and cleaned["ends_on"] < cleaned["starts_on"]:
            self.add_error("ends_on", _("The series must end after its first meeting."))
        opens, closes = cleaned.get("call_opens_days"), cleaned.get("call_closes_days")
        if opens is not None and closes is not None and opens <= closes:
            self.add_error("call_closes_days", _("The call must close after it opens (fewer days before)."))
        return cleaned


class MeetingForm(_Logistics):
    day = forms.DateField(label=_("Date"), widget=DATE)
    field_order = ["title", "day", "start_time", "end_time", "time_zone"]


class MeetingEditForm(MeetingForm):
    invited_agencies = AgencyChoice(
        label=_("Invited agencies"),
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    invited_people = PeopleChoice(
        label=_("Also invite these people"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("People outside the invited agencies, e.g. a trainer."),
    )

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, taskforce=taskforce, **kwargs)
        self.fields["invited_agencies"].queryset = (
            Membership.objects.filter(taskforce=taskforce)
            .exclude(status=MembershipStatus.WITHDRAWN)
            .select_related("agency")
        )
        self.fields["invited_people"].queryset = (
            User.objects.filter(is_active=True).select_related("agency").order_by("full_name")
        )

    @classmethod
    def initial_for(cls, meeting: Meeting) -> dict:
        return {
            "title": meeting.title,
            "day": meeting.local_start.date(),
            "start_time": meeting.local_start.time(),
            "end_time": meeting.local_end.time(),
            "time_zone": meeting.time_zone,
            "location": meeting.location,
            "video_url": meeting.video_url,
            "facilitator": meeting.facilitator_id,
            "note_taker": meeting.note_taker_id,
            "invited_agencies": list(meeting.invited_agencies.all()),
            "invited_people": list(meeting.invited_people.all()),
        }


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (shown to invitees)"), max_length=300, required=False)


SUBMITTABLE_TYPES = [
    (value, label)
    for value, label in ItemType.choices
    if value not in (ItemType.INTRODUCTIONS, ItemType.CONFIDENTIALITY, ItemType.MINUTES_APPROVAL)
]


class SubmitItemForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    item_type = forms.ChoiceField(label=_("Type"), choices=SUBMITTABLE_TYPES, initial=ItemType.INFORMATION)
    presenter = PersonChoice(label=_("Presenter"), queryset=User.objects.none(), required=False)
    planned_minutes = forms.IntegerField(label=_("Minutes needed"), min_value=1, max_value=240, initial=10)
    tier = forms.ChoiceField(
        label=_("Confidentiality"),
        choices=Tier.choices,
        initial=Tier.MEMBERS,
        widget=forms.RadioSelect,
        help_text=_("Restricted items are seen only by the facilitators and the people named on them."),
    )

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["presenter"].queryset = people_of(taskforce)


class ItemForm(SubmitItemForm):
    """The facilitator's version: every type, and who may see a restricted item."""

    item_type = forms.ChoiceField(label=_("Type"), choices=ItemType.choices, initial=ItemType.OTHER)
    restricted_viewers = PeopleChoice(label=_("May see it if restricted"), queryset=User.objects.none(), required=False)
    # The item's revision when the form was loaded: a save from an older one is refused (item_update).
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, taskforce=taskforce, **kwargs)
        self.fields["restricted_viewers"].queryset = people_of(taskforce)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class GuestForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    role = forms.CharField(label=_("Role"), max_length=200, required=False)
    organization = forms.CharField(label=_("Organization"), max_length=200, required=False)
    acknowledged = forms.BooleanField(label=_("Acknowledged the confidentiality commitment"), required=True)


class NotesForm(forms.Form):
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    decisions = forms.CharField(label=_("Decisions"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ActionItemForm(forms.Form):
    title = forms.CharField(label=_("Action"), max_length=300)
    owner_person = PersonChoice(label=_("Owner (person)"), queryset=User.objects.none(), required=False)
    owner_membership = forms.ModelChoiceField(
        label=_("or owner (agency)"), queryset=Membership.objects.none(), required=False
    )
    owner_subcommittee = forms.ModelChoiceField(
        label=_("or owner (subcommittee)"), queryset=Subcommittee.objects.none(), required=False
    )
    due_on = forms.DateField(label=_("Due"), widget=DATE, required=False)
    report_back_meeting = forms.ModelChoiceField(
        label=_("Report back at"), queryset=Meeting.objects.none(), required=False
    )
    report_back_on = forms.DateField(label=_("or report back on"), widget=DATE, required=False)
    goal = forms.ModelChoiceField(label=_("Goal of the action plan"), queryset=Goal.objects.none(), required=False)

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        tf = meeting.taskforce
        self.fields["goal"].queryset = Goal.objects.filter(taskforce=tf).exclude(status="dropped")
        self.fields["owner_person"].queryset = people_of(tf)
        self.fields["owner_membership"].queryset = (
            Membership.objects.filter(taskforce=tf).exclude(status=MembershipStatus.WITHDRAWN).select_related("agency")
        )
        self.fields["owner_membership"].label_from_instance = lambda m: m.agency.name
        self.fields["owner_subcommittee"].queryset = Subcommittee.objects.filter(taskforce=tf)
        # Not sliced: a ModelChoiceField validates with .get() on the queryset.
        self.fields["report_back_meeting"].queryset = Meeting.objects.filter(
            taskforce=tf,
            starts_at__gt=meeting.starts_at,
            starts_at__lte=meeting.starts_at + timedelta(days=400),
            status="scheduled",
        ).order_by("starts_at")

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(key) for key in ("owner_person", "owner_membership", "owner_subcommittee")):
            self.add_error("owner_person", _("Name an owner: a person, an agency or a subcommittee."))
        return cleaned


class MinutesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    summary = forms.CharField(
        label=_("Summary (general minutes)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    restricted_summary = forms.CharField(
        label=_("Restricted summary (restricted minutes only)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class FeedbackForm(forms.Form):
    usefulness = forms.TypedChoiceField(
        label=_("How useful was this meeting? (1 = not at all, 5 = very)"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    started_on_time = forms.TypedChoiceField(
        label=_("Did it start on time?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    ended_on_time = forms.TypedChoiceField(
        label=_("Did it end on time?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    what_to_change = forms.CharField(
        label=_("What should we change?"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    anonymous = forms.BooleanField(label=_("Send my answers anonymously"), required=False)


# --- action items between meetings (meetings/actions.py) ---------------------------------------------------


def _upcoming_meetings(taskforce: TaskForce):
    from django.utils import timezone

    return Meeting.objects.filter(taskforce=taskforce, status="scheduled", starts_at__gt=timezone.now()).order_by(
        "starts_at"
    )


class ActionForm(forms.Form):
    """An action item from the action items page or the action plan: owner, goal, due date, report-back."""

    title = forms.CharField(label=_("Action"), max_length=300)
    owner_person = PersonChoice(label=_("Owner (person)"), queryset=User.objects.none(), required=False)
    owner_membership = forms.ModelChoiceField(
        label=_("or owner (agency)"), queryset=Membership.objects.none(), required=False
    )
    owner_subcommittee = forms.ModelChoiceField(
        label=_("or owner (subcommittee)"), queryset=Subcommittee.objects.none(), required=False
    )
    goal = forms.ModelChoiceField(label=_("Goal of the action plan"), queryset=Goal.objects.none(), required=False)
    due_on = forms.DateField(label=_("Due"), widget=DATE, required=False)
    report_back_meeting = forms.ModelChoiceField(
        label=_("Report back at"), queryset=Meeting.objects.none(), required=False
    )
    report_back_on = forms.DateField(
        label=_("or report back on"),
        widget=DATE,
        required=False,
        help_text=_("At the first meeting on or after this date."),
    )

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_person"].queryset = people_of(taskforce)
        self.fields["owner_membership"].queryset = (
            Membership.objects.filter(taskforce=taskforce)
            .exclude(status=MembershipStatus.WITHDRAWN)
            .select_related("agency")
        )
        self.fields["owner_membership"].label_from_instance = lambda m: m.agency.name
        self.fields["owner_subcommittee"].queryset = Subcommittee.objects.filter(taskforce=taskforce)
        self.fields["goal"].queryset = Goal.objects.filter(taskforce=taskforce).exclude(status="dropped")
        self.fields["report_back_meeting"].queryset = _upcoming_meetings(taskforce)

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(key) for key in ("owner_person", "owner_membership", "owner_subcommittee")):
            self.add_error("owner_person", _("Name an owner: a person, an agency or a subcommittee."))
        return cleaned


class ReportBackForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ReportStatus.choices)
    progress = forms.CharField(label=_("Progress"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    blockers = forms.CharField(
        label=_("Blockers"), widget=forms.Textarea(attrs={"rows": 2}), max_length=3000, required=False
    )
    attachment = forms.FileField(
        label=_("Attachment (optional)"),
        help_text=_("PDF, Word, Excel, PowerPoint, PNG, JPEG, plain text or CSV."),
        widget=forms.ClearableFileInput(attrs={"accept": comms.ACCEPT_ATTRIBUTE}),
        required=False,
    )


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    reason = forms.CharField(label=_("Reason (to drop it)"), max_length=2000, required=False)
    report_back_meeting = forms.ModelChoiceField(
        label=_("Next report-back at"), queryset=Meeting.objects.none(), required=False
    )
    report_back_on = forms.DateField(label=_("or next report-back on"), widget=DATE, required=False)
    due_on = forms.DateField(label=_("New due date"), widget=DATE, required=False)

    def __init__(self, *args, taskforce: TaskForce, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report_back_meeting"].queryset = _upcoming_meetings(taskforce)
