from __future__ import annotations

from django import forms

from flowmart.reporting import PERIODS, DateRange
from reports.selectors import default_range

MAX_DAYS = 731  # two years: a range a page can show


class ReportRangeForm(forms.Form):
    """The reports page's filters (GET): the days to cover and the period the series are grouped by."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(choices=[(p, p) for p in PERIODS], required=False)

    def clean(self):
        data = super().clean()
        fallback = default_range()
        since, until = data.get("since") or fallback.since, data.get("until") or fallback.until
        if until < since:
            raise forms.ValidationError("The end date is before the start date.")
        if (until - since).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["date_range"] = DateRange(since=since, until=until)
        data["period"] = data.get("period") or "day"
        return data
