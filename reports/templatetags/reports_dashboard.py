"""``{% reports_dashboard %}`` on the admin index: the last 30 days at a glance, for staff who may see
reports (``reports.view_reports``); nothing for the others."""

from django import template

from reports import charts
from reports.selectors import default_range, owner_report

register = template.Library()


@register.inclusion_tag("reports/dashboard.html", takes_context=True)
def reports_dashboard(context):
    request = context.get("request")
    if request is None or not request.user.has_perm("reports.view_reports"):
        return {"show": False}
    report = owner_report(date_range=default_range(), period="day")
    return {"show": True, "report": report, "charts": charts.report_charts(report)}
