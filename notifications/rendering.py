"""Turn a kind, a channel and a context into the words that are sent.

Staff overrides (``NotificationTemplate``) win over the defaults in
``templates/notifications/<kind>/``. Plain text (subjects, text bodies, SMS,
push) renders without HTML escaping; the HTML part is escaped as usual.
A template that does not render raises ``TemplateRenderError``: nothing is
sent broken.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template import Context, TemplateDoesNotExist, engines

from flowmart.errors import FlowMartError
from notifications.kinds import Category, Channel, kind_get
from notifications.models import NotificationTemplate


class TemplateRenderError(FlowMartError):
    code = "template_render_error"
    status = 400
    title = "The template could not be rendered"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    template: str  # where it came from: "default:<kind>/<channel>" or "override:<id>"


@dataclass(frozen=True)
class TemplateSource:
    subject: str | None
    text: str
    html: str | None
    origin: str
    from_files: bool


def _engine():
    return engines["django"].engine


def _default_names(kind: str, channel: str) -> dict[str, str | None]:
    base = f"notifications/{kind}/"
    if channel == Channel.EMAIL:
        return {"subject": base + "subject.txt", "text": base + "body.txt", "html": base + "body.html"}
    if channel == Channel.PUSH:
        return {"subject": base + "subject.txt", "text": base + "short.txt", "html": None}
    return {"subject": None, "text": base + "short.txt", "html": None}


def template_source_for(*, kind: str, channel: str) -> TemplateSource:
    override = NotificationTemplate.objects.filter(kind=kind, channel=channel, is_active=True).first()
    if override is not None:
        return TemplateSource(
            subject=override.subject if channel != Channel.SMS else None,
            text=override.body_text,
            html=override.body_html if channel == Channel.EMAIL and override.body_html else None,
            origin=f"override:{override.pk}",
            from_files=False,
        )
    names = _default_names(kind, channel)
    return TemplateSource(
        subject=names["subject"],
        text=names["text"],
        html=names["html"],
        origin=f"default:{kind}/{channel}",
        from_files=True,
    )


def _render_one(source: str | None, *, from_file: bool, context: dict, autoescape: bool) -> str:
    if source is None:
        return ""
    engine = _engine()
    template = engine.get_template(source) if from_file else engine.from_string(source)
    return template.render(Context(context, autoescape=autoescape))


def base_context(context: dict) -> dict:
    return {"shop_name": settings.SHOP_NAME, "site_url": settings.SITE_URL, **context}


def render_source(source: TemplateSource, *, channel: str, context: dict) -> RenderedMessage:
    ctx = base_context(context)
    try:
        subject = _render_one(source.subject, from_file=source.from_files, context=ctx, autoescape=False)
        text = _render_one(source.text, from_file=source.from_files, context=ctx, autoescape=False)
        html = _render_one(source.html, from_file=source.from_files, context=ctx, autoescape=True)
    except TemplateDoesNotExist as exc:
        raise TemplateRenderError(f"No default template {exc} for this kind and channel.") from exc
    except Exception as exc:  # syntax errors, failing filters: refuse rather than send something broken
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    subject = " ".join(subject.split())  # one line
    text = text.strip() + "\n" if channel == Channel.EMAIL else " ".join(text.split())
    if channel != Channel.EMAIL and not text:
        raise TemplateRenderError("The message renders empty.")
    if channel == Channel.EMAIL and not subject:
        raise TemplateRenderError("The subject renders empty.")
    return RenderedMessage(subject=subject, text=text, html=html.strip(), template=source.origin)


def render_message(*, kind: str, channel: str, context: dict) -> RenderedMessage:
    return render_source(template_source_for(kind=kind, channel=channel), channel=channel, context=context)


def sample_context(*, kind: str, channel: str) -> dict:
    spec = kind_get(kind)
    ctx = dict(spec.sample)
    ctx.setdefault("recipient_name", "Casey Customer")
    if channel == Channel.EMAIL:
        ctx.setdefault("category_label", Category(spec.category).label)
        ctx.setdefault("unsubscribe_url", f"{settings.SITE_URL}/notifications/unsubscribe/sample/")
        ctx.setdefault("preferences_url", f"{settings.SITE_URL}/notifications/preferences/")
    return ctx


def template_preview(*, kind: str, channel: str, subject: str, body_text: str, body_html: str) -> RenderedMessage:
    """Render a draft override on the kind's sample data; raises TemplateRenderError if it cannot."""
    if channel not in kind_get(kind).channels:
        raise TemplateRenderError(f"{kind} is not sent by {channel}.")
    source = TemplateSource(
        subject=subject if channel != Channel.SMS else None,
        text=body_text,
        html=body_html if channel == Channel.EMAIL and body_html else None,
        origin="draft",
        from_files=False,
    )
    return render_source(source, channel=channel, context=sample_context(kind=kind, channel=channel))
