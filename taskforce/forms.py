"""Forms for the task force and its charter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from taskforce.models import TaskForce


class TaskForceForm(forms.ModelForm):
    class Meta:
        model = TaskForce
        fields = ["name", "region", "jurisdiction", "established_on", "meeting_cadence", "time_zone"]
        widgets = {"established_on": forms.DateInput(attrs={"type": "date"})}


class CharterForm(forms.Form):
    mission_statement = forms.CharField(
        label=_("Mission statement"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One or two sentences every member agency can stand behind."),
    )
    shared_values = forms.CharField(
        label=_("Shared values"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("One value per line, e.g. 'Victim-centred and trauma-informed'."),
    )
    meeting_cadence = forms.ChoiceField(
        label=_("Intended meeting cadence"), choices=TaskForce._meta.get_field("meeting_cadence").choices
    )
    adopted_on = forms.DateField(
        label=_("Adopted by the task force on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty while the charter is still a draft."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=_("Person or object"), required=False, max_length=100)
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    taskforce = forms.ModelChoiceField(label=_("Task force"), queryset=TaskForce.objects.all(), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
