"""Pages for the plan's entities: list, view, create, edit and delete.

Every entity follows the same flow through three helpers: ``_form_page`` (validate,
save through a service, flash, redirect – or the form again with status 400),
``REMOVABLES`` (one shared delete flow: a confirmation page listing everything the
delete affects, from ``integrity.services``, then delete or retire) and the
``can_edit`` flag that hides the buttons for viewers. Form and confirmation pages are
``role_required(coordinator)`` for GET too, so a viewer following an old link gets a
clear 403 instead of a form they cannot send.

The plan document (``/plan``, ``/plan.md``, ``/plan/edit``) lives in
``document_views.py`` on this same blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from commsplan.auth.guard import may, role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.inputs import parse_id
from commsplan.integrity import services as impact
from commsplan.plan import crud
from commsplan.plan.forms import (
    ChannelForm,
    ContactFilterForm,
    ContactForm,
    DependencyForm,
    RecipientFilterForm,
    RecipientForm,
    ResponsibilityForm,
    ServiceForm,
    StakeholderGroupForm,
    SystemForm,
    UnitForm,
)
from commsplan.plan.labels import label
from commsplan.plan.models import (
    Channel,
    ChannelKind,
    Contact,
    Dependency,
    NeedKind,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
)
from commsplan.subscriptions import services as subscription_services

bp = Blueprint("plan", __name__)

T = TypeVar("T")


@bp.app_template_filter("label")
def label_filter(value: Any) -> str:
    return label(value)


@bp.context_processor
def editing_allowed() -> dict[str, bool]:
    # One rule for every plan page: whoever may send the plan's forms (see auth.guard).
    return {"can_edit": may("plan.unit_create")}


# --- The shared flow ---------------------------------------------------------------------


def _status() -> int:
    return 400 if request.method == "POST" else 200


def _attach_error(form: FlaskForm, field: str | None, message: str) -> None:
    target = form._fields.get(field or "") or form._fields.get("name")
    if target is None:
        flash(message, "error")
        return
    target.errors = [*target.errors, message]


def _form_page(
    form: FlaskForm,
    *,
    title: str,
    save: Callable[[], T],
    message: Callable[[T], str],
    done: Callable[[T], str],
    cancel_url: str,
    template: str = "plan/crud/form.html",
    **context: Any,
) -> Any:
    if form.validate_on_submit():
        try:
            obj = save()
            db.session.commit()
        except crud.PlanDataError as error:
            db.session.rollback()
            _attach_error(form, error.field, error.message)
        except IntegrityError:
            # Our own checks passed, so someone saved a clashing row at the same moment.
            db.session.rollback()
            _attach_error(
                form, None, _("Någon annan sparade samma uppgifter nyss. Kontrollera och försök igen.")
            )
        else:
            flash(message(obj), "success")
            return redirect(done(obj))
    return render_template(template, form=form, title=title, cancel_url=cancel_url, **context), _status()


def _archive(retired: Any) -> dict[str, Any]:
    """The retired rows of a list page, shown when the visitor asks (``?archived=1``)."""
    return {"retired": retired, "show_archived": request.args.get("archived") == "1"}


# --- Units -------------------------------------------------------------------------


@bp.get("/plan/units")
def unit_list():
    return render_template(
        "plan/units/list.html", units=crud.list_units(db.session), counts=crud.unit_counts(db.session)
    )


@bp.get("/plan/units/<int:unit_id>")
def unit_detail(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    return render_template(
        "plan/units/detail.html",
        unit=unit,
        systems=crud.unit_systems(db.session, unit),
        responsibilities=crud.unit_responsibilities(db.session, unit),
    )


def _save_unit(form: UnitForm, unit: Unit | None) -> Unit:
    return crud.save_unit(
        db.session,
        unit,
        name=form.name.data,
        kind=UnitKind(form.kind.data),
        description=form.description.data,
    )


@bp.route("/plan/units/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def unit_create():
    form = UnitForm()
    return _form_page(
        form,
        title=_("Ny enhet"),
        save=lambda: _save_unit(form, None),
        message=lambda u: _("Enheten %(name)s är skapad.", name=u.name),
        done=lambda u: url_for("plan.unit_detail", unit_id=u.id),
        cancel_url=url_for("plan.unit_list"),
    )


@bp.route("/plan/units/<int:unit_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def unit_edit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit)
    return _form_page(
        form,
        title=_("Ändra enheten %(name)s", name=unit.name),
        save=lambda: _save_unit(form, unit),
        message=lambda u: _("Enheten %(name)s är sparad.", name=u.name),
        done=lambda u: url_for("plan.unit_detail", unit_id=u.id),
        cancel_url=url_for("plan.unit_detail", unit_id=unit.id),
    )


# --- Channels ------------------------------------------------------------------------


@bp.get("/plan/channels")
def channel_list():
    return render_template("plan/channels/list.html", channels=crud.list_channels(db.session))


@bp.get("/plan/channels/<int:channel_id>")
def channel_detail(channel_id: int):
    channel = db.get_or_404(Channel, channel_id)
    return render_template(
        "plan/channels/detail.html", channel=channel, references=crud.channel_blockers(db.session, channel)
    )


def _save_channel(form: ChannelForm, channel: Channel | None) -> Channel:
    return crud.save_channel(
        db.session,
        channel,
        name=form.name.data,
        kind=ChannelKind(form.kind.data),
        address=form.address.data,
        audience=form.audience.data,
        description=form.description.data,
    )


@bp.route("/plan/channels/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def channel_create():
    form = ChannelForm()
    return _form_page(
        form,
        title=_("Ny kanal"),
        save=lambda: _save_channel(form, None),
        message=lambda c: _("Kanalen %(name)s är skapad.", name=c.name),
        done=lambda c: url_for("plan.channel_detail", channel_id=c.id),
        cancel_url=url_for("plan.channel_list"),
    )


@bp.route("/plan/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def channel_edit(channel_id: int):
    channel = db.get_or_404(Channel, channel_id)
    form = ChannelForm(obj=channel)
    return _form_page(
        form,
        title=_("Ändra kanalen %(name)s", name=channel.name),
        save=lambda: _save_channel(form, channel),
        message=lambda c: _("Kanalen %(name)s är sparad.", name=c.name),
        done=lambda c: url_for("plan.channel_detail", channel_id=c.id),
        cancel_url=url_for("plan.channel_detail", channel_id=channel.id),
    )


# --- Stakeholder groups ------------------------------------------------------------------


@bp.get("/plan/stakeholders")
def stakeholder_list():
    return render_template(
        "plan/stakeholders/list.html",
        groups=crud.list_stakeholder_groups(db.session),
        contact_counts=crud.group_contact_counts(db.session),
        **_archive(crud.list_stakeholder_groups(db.session, retired=True)),
    )


@bp.get("/plan/stakeholders/<int:group_id>")
def stakeholder_detail(group_id: int):
    group = db.get_or_404(StakeholderGroup, group_id)
    # The first page only: the rest are a click away in the (paged) contact list.
    contacts = crud.search_contacts(
        db.session, crud.ContactFilter(group_id=group.id), per_page=current_app.config["PAGE_SIZE"]
    )
    return render_template("plan/stakeholders/detail.html", group=group, contacts=contacts)


def _save_group(form: StakeholderGroupForm, group: StakeholderGroup | None) -> StakeholderGroup:
    return crud.save_stakeholder_group(
        db.session,
        group,
        name=form.name.data,
        need_kind=NeedKind(form.need_kind.data),
        needs=crud.split_needs(form.needs_text.data),
        description=form.description.data,
        position=form.position.data,
    )


_NEEDS_HINT = _l("Ett behov per rad, i den ordning de ska stå i planen.")


@bp.route("/plan/stakeholders/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def stakeholder_create():
    form = StakeholderGroupForm()
    return _form_page(
        form,
        title=_("Ny intressentgrupp"),
        save=lambda: _save_group(form, None),
        message=lambda g: _("Intressentgruppen %(name)s är skapad.", name=g.name),
        done=lambda g: url_for("plan.stakeholder_detail", group_id=g.id),
        cancel_url=url_for("plan.stakeholder_list"),
        hints={"needs_text": _NEEDS_HINT, "position": _("Lämna tomt för att lägga gruppen sist.")},
    )


@bp.route("/plan/stakeholders/<int:group_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def stakeholder_edit(group_id: int):
    group = db.get_or_404(StakeholderGroup, group_id)
    form = StakeholderGroupForm(obj=group, needs_text="\n".join(n.text for n in group.needs))
    return _form_page(
        form,
        title=_("Ändra intressentgruppen %(name)s", name=group.name),
        save=lambda: _save_group(form, group),
        message=lambda g: _("Intressentgruppen %(name)s är sparad.", name=g.name),
        done=lambda g: url_for("plan.stakeholder_detail", group_id=g.id),
        cancel_url=url_for("plan.stakeholder_detail", group_id=group.id),
        hints={"needs_text": _NEEDS_HINT},
    )


# --- Recipients ------------------------------------------------------------------------


@bp.get("/plan/recipients")
def recipient_list():
    filters = RecipientFilterForm(formdata=request.args)
    valid = filters.validate()
    recipients = crud.search_recipients(
        db.session,
        crud.RecipientFilter(
            text=filters.q.data or "" if valid else "",
            unit_kind=UnitKind(filters.kind.data) if valid and filters.kind.data else None,
        ),
    )
    return render_template(
        "plan/recipients/list.html", recipients=recipients, filters=filters, filtered=bool(request.args)
    ), (200 if valid else 400)


@bp.get("/plan/recipients/<int:recipient_id>")
def recipient_detail(recipient_id: int):
    recipient = db.get_or_404(Recipient, recipient_id)
    return render_template("plan/recipients/detail.html", recipient=recipient)


def _recipient_form(**kwargs: Any) -> RecipientForm:
    form = RecipientForm(**kwargs)
    form.set_choices(crud.list_units(db.session), crud.list_channels(db.session))
    return form


def _save_recipient(form: RecipientForm, recipient: Recipient | None) -> Recipient:
    return crud.save_recipient(
        db.session,
        recipient,
        unit_id=form.unit_id.data,
        role=form.role.data,
        channel_id=form.channel_id.data,
        contact_route=form.contact_route.data,
        position=form.position.data,
    )


@bp.route("/plan/recipients/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def recipient_create():
    form = _recipient_form(unit_id=request.args.get("unit", type=parse_id))
    return _form_page(
        form,
        title=_("Ny mottagare av information"),
        save=lambda: _save_recipient(form, None),
        message=lambda r: _("Mottagaren %(name)s är skapad.", name=crud.recipient_label(r)),
        done=lambda r: url_for("plan.recipient_detail", recipient_id=r.id),
        cancel_url=url_for("plan.recipient_list"),
        hints={"contact_route": _("Till exempel ”via Easit” eller en funktionsbrevlåda.")},
    )


@bp.route("/plan/recipients/<int:recipient_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def recipient_edit(recipient_id: int):
    recipient = db.get_or_404(Recipient, recipient_id)
    form = _recipient_form(obj=recipient)
    return _form_page(
        form,
        title=_("Ändra mottagaren %(name)s", name=crud.recipient_label(recipient)),
        save=lambda: _save_recipient(form, recipient),
        message=lambda r: _("Mottagaren %(name)s är sparad.", name=crud.recipient_label(r)),
        done=lambda r: url_for("plan.recipient_detail", recipient_id=r.id),
        cancel_url=url_for("plan.recipient_detail", recipient_id=recipient.id),
    )


# --- Contacts ------------------------------------------------------------------------


@bp.get("/plan/contacts")
def contact_list():
    filters = ContactFilterForm(formdata=request.args)
    units, groups = crud.list_units(db.session), crud.list_stakeholder_groups(db.session)
    filters.set_choices(units, groups)
    valid = filters.validate()
    criteria = crud.ContactFilter()
    if valid:
        criteria = crud.ContactFilter(
            text=filters.q.data or "",
            unit_id=filters.unit.data,
            group_id=filters.group.data,
            active={"1": True, "0": False}.get(filters.active.data or ""),
            self_subscribed=filters.origin.data == "self" or None,
        )
    page = crud.search_contacts(
        db.session,
        criteria,
        page=request.args.get("page", 1, type=parse_id),
        per_page=current_app.config["PAGE_SIZE"],
    )
    # Links to other pages keep the filters but not the page number.
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "plan/contacts/list.html", page=page, filters=filters, query=query, filtered=bool(query)
    ), (200 if valid else 400)


@bp.get("/plan/contacts/<int:contact_id>")
def contact_detail(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    return render_template(
        "plan/contacts/detail.html",
        contact=contact,
        profile=subscription_services.profiles_by_contact(db.session, [contact.id]).get(contact.id),
        role_requests=subscription_services.list_role_requests(db.session, contact),
        opt_outs=subscription_services.list_opt_outs(db.session, contact),
        action_form=ConfirmForm(),
    )


def _contact_form(**kwargs: Any) -> ContactForm:
    form = ContactForm(**kwargs)
    form.set_choices(crud.list_units(db.session), crud.list_stakeholder_groups(db.session))
    return form


def _save_contact(form: ContactForm, contact: Contact | None) -> Contact:
    return crud.save_contact(
        db.session,
        contact,
        name=form.name.data,
        email=form.email.data,
        phone=form.phone.data,
        unit_id=form.unit_id.data,
        role=form.role.data,
        language=form.language.data,
        active=form.active.data,
        group_ids=form.group_ids.data or [],
    )


@bp.route("/plan/contacts/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def contact_create():
    form = _contact_form()
    return _form_page(
        form,
        title=_("Ny kontakt"),
        save=lambda: _save_contact(form, None),
        message=lambda c: _("Kontakten %(name)s är skapad.", name=c.name),
        done=lambda c: url_for("plan.contact_detail", contact_id=c.id),
        cancel_url=url_for("plan.contact_list"),
        hints={"language": _("Språket som utskick till kontakten skrivs på.")},
    )


@bp.route("/plan/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def contact_edit(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    form = _contact_form(obj=contact, group_ids=[g.id for g in contact.groups])
    return _form_page(
        form,
        title=_("Ändra kontakten %(name)s", name=contact.name),
        # Leaving a group or a unit, or becoming inactive, can end meeting invitations.
        save=lambda: impact.in_step_with_meetings(db.session, lambda: _save_contact(form, contact))[0],
        message=lambda c: _("Kontakten %(name)s är sparad.", name=c.name),
        done=lambda c: url_for("plan.contact_detail", contact_id=c.id),
        cancel_url=url_for("plan.contact_detail", contact_id=contact.id),
        hints={"language": _("Språket som utskick till kontakten skrivs på.")},
    )


# --- Systems ------------------------------------------------------------------------


@bp.get("/plan/systems")
def system_list():
    return render_template(
        "plan/systems/list.html",
        systems=crud.list_systems(db.session),
        **_archive(crud.list_systems(db.session, retired=True)),
    )


@bp.get("/plan/systems/<int:system_id>")
def system_detail(system_id: int):
    system = db.get_or_404(System, system_id)
    return render_template(
        "plan/systems/detail.html",
        system=system,
        responsibilities=crud.system_responsibilities(db.session, system),
        dependencies=crud.system_dependencies(db.session, system),
    )


def _system_form(**kwargs: Any) -> SystemForm:
    form = SystemForm(**kwargs)
    form.set_choices(crud.list_units(db.session))
    return form


def _save_system(form: SystemForm, system: System | None) -> System:
    return crud.save_system(
        db.session,
        system,
        name=form.name.data,
        object_unit_id=form.object_unit_id.data,
        description=form.description.data,
    )


@bp.route("/plan/systems/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def system_create():
    form = _system_form()
    return _form_page(
        form,
        title=_("Nytt system"),
        save=lambda: _save_system(form, None),
        message=lambda s: _("Systemet %(name)s är skapat.", name=s.name),
        done=lambda s: url_for("plan.system_detail", system_id=s.id),
        cancel_url=url_for("plan.system_list"),
    )


@bp.route("/plan/systems/<int:system_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def system_edit(system_id: int):
    system = db.get_or_404(System, system_id)
    form = _system_form(obj=system)
    return _form_page(
        form,
        title=_("Ändra systemet %(name)s", name=system.name),
        save=lambda: _save_system(form, system),
        message=lambda s: _("Systemet %(name)s är sparat.", name=s.name),
        done=lambda s: url_for("plan.system_detail", system_id=s.id),
        cancel_url=url_for("plan.system_detail", system_id=system.id),
    )


# --- Services and their responsibility rows ----------------------------------------------


@bp.get("/plan/services")
def service_list():
    return render_template(
        "plan/services/list.html",
        services=crud.list_services(db.session),
        dependencies=crud.list_dependencies(db.session),
        **_archive(crud.list_services(db.session, retired=True)),
    )


@bp.get("/plan/services/<int:service_id>")
def service_detail(service_id: int):
    service = db.get_or_404(Service, service_id)
    return render_template(
        "plan/services/detail.html",
        service=service,
        dependencies=crud.service_dependencies(db.session, service),
        shared_dependencies=crud.shared_dependencies(db.session),
    )


def _save_service(form: ServiceForm, service: Service | None) -> Service:
    return crud.save_service(
        db.session,
        service,
        name=form.name.data,
        description=form.description.data,
        position=form.position.data,
    )


@bp.route("/plan/services/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def service_create():
    form = ServiceForm()
    return _form_page(
        form,
        title=_("Ny e-tjänst"),
        save=lambda: _save_service(form, None),
        message=lambda s: _("E-tjänsten %(name)s är skapad.", name=s.name),
        done=lambda s: url_for("plan.service_detail", service_id=s.id),
        cancel_url=url_for("plan.service_list"),
        hints={"position": _("Lämna tomt för att lägga e-tjänsten sist.")},
    )


@bp.route("/plan/services/<int:service_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def service_edit(service_id: int):
    service = db.get_or_404(Service, service_id)
    form = ServiceForm(obj=service)
    return _form_page(
        form,
        title=_("Ändra e-tjänsten %(name)s", name=service.name),
        save=lambda: _save_service(form, service),
        message=lambda s: _("E-tjänsten %(name)s är sparad.", name=s.name),
        done=lambda s: url_for("plan.service_detail", service_id=s.id),
        cancel_url=url_for("plan.service_detail", service_id=service.id),
    )


def _responsibility_form(**kwargs: Any) -> ResponsibilityForm:
    form = ResponsibilityForm(**kwargs)
    form.set_choices(
        crud.list_systems(db.session), crud.list_units(db.session), crud.list_channels(db.session)
    )
    return form


def _save_responsibility(
    form: ResponsibilityForm, service: Service, row: Responsibility | None
) -> Responsibility:
    return crud.save_responsibility(
        db.session,
        row,
        service=service,
        system_id=form.system_id.data,
        responsible_unit_id=form.responsible_unit_id.data,
        channel_id=form.channel_id.data,
        contact_route=form.contact_route.data,
        comment=form.comment.data,
        position=form.position.data,
    )


_RESPONSIBILITY_HINTS = {
    "system_id": _l("Lämna tomt om raden gäller e-tjänsten som helhet."),
    "contact_route": _l("Till exempel ”e-post till objektledaren” när kanalen inte räcker."),
}


@bp.route("/plan/services/<int:service_id>/responsibilities/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def responsibility_create(service_id: int):
    service = db.get_or_404(Service, service_id)
    form = _responsibility_form()
    return _form_page(
        form,
        title=_("Ny ansvarsrad för %(name)s", name=service.name),
        save=lambda: _save_responsibility(form, service, None),
        message=lambda r: _("Ansvarsraden %(name)s är skapad.", name=crud.responsibility_label(r)),
        done=lambda r: url_for("plan.service_detail", service_id=service.id),
        cancel_url=url_for("plan.service_detail", service_id=service.id),
        hints=_RESPONSIBILITY_HINTS,
    )


@bp.route("/plan/responsibilities/<int:row_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def responsibility_edit(row_id: int):
    row = db.get_or_404(Responsibility, row_id)
    service = row.service
    form = _responsibility_form(obj=row)
    return _form_page(
        form,
        title=_("Ändra ansvarsraden %(name)s", name=crud.responsibility_label(row)),
        save=lambda: _save_responsibility(form, service, row),
        message=lambda r: _("Ansvarsraden %(name)s är sparad.", name=crud.responsibility_label(r)),
        done=lambda r: url_for("plan.service_detail", service_id=service.id),
        cancel_url=url_for("plan.service_detail", service_id=service.id),
        hints=_RESPONSIBILITY_HINTS,
    )


# --- Dependencies ------------------------------------------------------------------------


@bp.get("/plan/dependencies")
def dependency_list():
    return render_template("plan/dependencies/list.html", dependencies=crud.list_dependencies(db.session))


@bp.get("/plan/dependencies/<int:dependency_id>")
def dependency_detail(dependency_id: int):
    dependency = db.get_or_404(Dependency, dependency_id)
    return render_template("plan/dependencies/detail.html", dependency=dependency)


def _dependency_form(**kwargs: Any) -> DependencyForm:
    form = DependencyForm(**kwargs)
    form.set_choices(crud.list_services(db.session), crud.list_systems(db.session))
    return form


def _save_dependency(form: DependencyForm, dependency: Dependency | None) -> Dependency:
    return crud.save_dependency(
        db.session,
        dependency,
        service_id=form.service_id.data,
        system_id=form.system_id.data,
        note=form.note.data,
    )


@bp.route("/plan/dependencies/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def dependency_create():
    form = _dependency_form(
        service_id=request.args.get("service", type=parse_id),
        system_id=request.args.get("system", type=parse_id),
    )
    return _form_page(
        form,
        title=_("Nytt beroende"),
        save=lambda: _save_dependency(form, None),
        message=lambda d: _("Beroendet %(name)s är skapat.", name=crud.dependency_label(d)),
        done=lambda d: url_for("plan.dependency_list"),
        cancel_url=url_for("plan.dependency_list"),
    )


@bp.route("/plan/dependencies/<int:dependency_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def dependency_edit(dependency_id: int):
    dependency = db.get_or_404(Dependency, dependency_id)
    form = _dependency_form(obj=dependency)
    return _form_page(
        form,
        title=_("Ändra beroendet %(name)s", name=crud.dependency_label(dependency)),
        save=lambda: _save_dependency(form, dependency),
        message=lambda d: _("Beroendet %(name)s är sparat.", name=crud.dependency_label(d)),
        done=lambda d: url_for("plan.dependency_list"),
        cancel_url=url_for("plan.dependency_detail", dependency_id=dependency.id),
    )


# --- Delete (or retire) and restore, one flow for every entity ----------------------------


@dataclass(frozen=True)
class Removable:
    """How one entity is named and where its pages are, for the shared delete flow."""

    model: type
    path: str  # URL part: /plan/<path>/<id>/delete
    endpoint: str  # endpoint prefix: <endpoint>_list, <endpoint>_detail, <endpoint>_delete
    arg: str  # the id's name in the entity's URL rules
    name: Callable[[Any], str]
    confirm: Any  # lazy texts with %(name)s
    deleted: Any
    retire: Any = None  # set for the entities old notices name: the archive texts
    retired: Any = None
    restored: Any = None
    page: Callable[[Any], str] | None = None  # the row's own page, if not <endpoint>_detail
    back: Callable[[Any], str] | None = None  # after a delete, if not <endpoint>_list

    def page_url(self, obj: Any) -> str:
        return self.page(obj) if self.page else url_for(f"plan.{self.endpoint}_detail", **{self.arg: obj.id})

    def back_url(self, obj: Any) -> str:
        return self.back(obj) if self.back else url_for(f"plan.{self.endpoint}_list")


def _service_page(row: Responsibility) -> str:
    return url_for("plan.service_detail", service_id=row.service_id)


REMOVABLES = (
    Removable(
        Unit,
        "units",
        "unit",
        "unit_id",
        lambda u: u.name,
        confirm=_l("Ta bort enheten %(name)s?"),
        deleted=_l("Enheten %(name)s är borttagen."),
    ),
    Removable(
        Channel,
        "channels",
        "channel",
        "channel_id",
        lambda c: c.name,
        confirm=_l("Ta bort kanalen %(name)s?"),
        deleted=_l("Kanalen %(name)s är borttagen."),
    ),
    Removable(
        StakeholderGroup,
        "stakeholders",
        "stakeholder",
        "group_id",
        lambda g: g.name,
        confirm=_l("Ta bort intressentgruppen %(name)s?"),
        deleted=_l("Intressentgruppen %(name)s är borttagen."),
        retire=_l("Arkivera intressentgruppen %(name)s?"),
        retired=_l("Intressentgruppen %(name)s är arkiverad."),
        restored=_l("Intressentgruppen %(name)s är återställd."),
    ),
    Removable(
        Recipient,
        "recipients",
        "recipient",
        "recipient_id",
        crud.recipient_label,
        confirm=_l("Ta bort mottagaren %(name)s?"),
        deleted=_l("Mottagaren %(name)s är borttagen."),
    ),
    Removable(
        Contact,
        "contacts",
        "contact",
        "contact_id",
        lambda c: c.name,
        confirm=_l("Ta bort kontakten %(name)s?"),
        deleted=_l("Kontakten %(name)s är borttagen."),
    ),
    Removable(
        System,
        "systems",
        "system",
        "system_id",
        lambda s: s.name,
        confirm=_l("Ta bort systemet %(name)s?"),
        deleted=_l("Systemet %(name)s är borttaget."),
        retire=_l("Arkivera systemet %(name)s?"),
        retired=_l("Systemet %(name)s är arkiverat."),
        restored=_l("Systemet %(name)s är återställt."),
    ),
    Removable(
        Service,
        "services",
        "service",
        "service_id",
        lambda s: s.name,
        confirm=_l("Ta bort e-tjänsten %(name)s?"),
        deleted=_l("E-tjänsten %(name)s är borttagen."),
        retire=_l("Arkivera e-tjänsten %(name)s?"),
        retired=_l("E-tjänsten %(name)s är arkiverad."),
        restored=_l("E-tjänsten %(name)s är återställd."),
    ),
    Removable(
        Responsibility,
        "responsibilities",
        "responsibility",
        "row_id",
        crud.responsibility_label,
        confirm=_l("Ta bort ansvarsraden %(name)s?"),
        deleted=_l("Ansvarsraden %(name)s är borttagen."),
        page=_service_page,
        back=_service_page,
    ),
    Removable(
        Dependency,
        "dependencies",
        "dependency",
        "dependency_id",
        crud.dependency_label,
        confirm=_l("Ta bort beroendet %(name)s?"),
        deleted=_l("Beroendet %(name)s är borttaget."),
    ),
)


def _text(lazy: Any, obj: Any, entity: Removable) -> str:
    return str(lazy) % {"name": entity.name(obj)}


def _delete_view(entity: Removable) -> Callable[..., Any]:
    @role_required(Role.coordinator)
    def view(**ids: int) -> Any:
        ident = ids[entity.arg]
        obj = db.get_or_404(entity.model, ident)
        form = ConfirmForm()
        if request.method == "POST" and form.validate_on_submit():
            # Read before the change: a deleted row has no name or service any more.
            name, back = entity.name(obj), entity.back_url(obj)
            try:
                outcome = impact.remove(db.session, obj)
                db.session.commit()
            except impact.Blocked:
                db.session.rollback()
                obj = db.get_or_404(entity.model, ident)
            else:
                done = entity.retired if outcome.retired else entity.deleted
                flash(str(done) % {"name": name}, "success")
                if outcome.cancellations:
                    flash(
                        ngettext(
                            "%(num)d avbokning skickas till mötesdeltagare som inte längre är inbjudna.",
                            "%(num)d avbokningar skickas till mötesdeltagare som inte längre är inbjudna.",
                            outcome.cancellations,
                        ),
                        "info",
                    )
                return redirect(entity.page_url(obj) if outcome.retired else back)
        found = impact.impact_of(db.session, obj)
        title = entity.retire if found.retires and entity.retire is not None else entity.confirm
        page = render_template(
            "plan/crud/delete.html",
            form=form,
            title=_text(title, obj, entity),
            impact=found,
            effect=impact.Effect,
            cancel_url=entity.page_url(obj),
        )
        # Refusing a delete is a conflict with existing data, not a malformed request.
        return page, (409 if found.blocked and request.method == "POST" else 200)

    return view


def _restore_view(entity: Removable) -> Callable[..., Any]:
    @role_required(Role.coordinator)
    def view(**ids: int) -> Any:
        obj = db.get_or_404(entity.model, ids[entity.arg])
        if ConfirmForm().validate_on_submit() and obj.is_retired:
            impact.restore(db.session, obj)
            db.session.commit()
            flash(_text(entity.restored, obj, entity), "success")
        return redirect(entity.page_url(obj))

    return view


for _entity in REMOVABLES:
    bp.add_url_rule(
        f"/plan/{_entity.path}/<int:{_entity.arg}>/delete",
        endpoint=f"{_entity.endpoint}_delete",
        view_func=_delete_view(_entity),
        methods=["GET", "POST"],
    )
    if _entity.retire is not None:
        bp.add_url_rule(
            f"/plan/{_entity.path}/<int:{_entity.arg}>/restore",
            endpoint=f"{_entity.endpoint}_restore",
            view_func=_restore_view(_entity),
            methods=["POST"],
        )
