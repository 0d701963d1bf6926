"""Subscriptions, self-service sign-up with double opt-in, the preferences page without
log-in, and signed links: one-click unsubscribe (RFC 8058) and preferences.

Tokens: the preferences link and the one-click link are signed with itsdangerous
(timestamped, so they expire); the sign-up confirmation is a random token of which only
the SHA-256 is stored. None of them reveals anything but a contact id.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, Signer, TimestampSigner
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from commsplan.auth.models import User
from commsplan.delivery.services import Addressee, enqueue
from commsplan.kinds import NoticeKind, Severity
from commsplan.kinds.labels import KIND_LABELS
from commsplan.paging import Page, contains_text, paginate
from commsplan.plan.models import Contact, Recipient, Responsibility, Service, System
from commsplan.subscriptions import mail
from commsplan.subscriptions.models import (
    AddressMail,
    Frequency,
    OptOut,
    PendingSubscription,
    RoleRequest,
    SubscriberProfile,
    Subscription,
    Unsubscribe,
)
from commsplan.timeutil import utcnow

TOKEN_SALT = "commsplan.unsubscribe"  # noqa: S105 - a salt, not a secret
PREFERENCES_SALT = "commsplan.preferences"
ONE_CLICK_SALT = "commsplan.one-click"
# Outages of this severity reach every follower at once, whatever their frequency.
HIGHEST_SEVERITY = Severity.critical
# Kinds a role-based recipient may take in a digest; outages and windows are never delayed.
DIGESTIBLE_KINDS = frozenset({NoticeKind.release, NoticeKind.general})


class SubscriptionError(ValueError):
    """A subscription that cannot be made; the message is for the user."""


class LinkExpired(SubscriptionError):
    """A signed link that was valid once."""


def _matching(kind: NoticeKind, service_ids: Sequence[int]) -> Any:
    """Subscriptions that match a notice: an empty column means "all"."""
    kind_ok = or_(Subscription.notice_kind.is_(None), Subscription.notice_kind == kind)
    if service_ids:
        service_ok = or_(Subscription.service_id.is_(None), Subscription.service_id.in_(service_ids))
    else:
        service_ok = Subscription.service_id.is_(None)
    return and_(
        kind_ok, service_ok, or_(Subscription.notice_kind.is_not(None), Subscription.service_id.is_not(None))
    )


def matches(
    subscription_kind: NoticeKind | None,
    subscription_service: int | None,
    kind: NoticeKind,
    service_ids: Iterable[int],
) -> bool:
    """``_matching`` in Python, for digests that test many notices against one person."""
    if subscription_kind is None and subscription_service is None:
        return False
    if subscription_kind is not None and subscription_kind is not kind:
        return False
    return subscription_service is None or subscription_service in set(service_ids)


def _immediate(kind: NoticeKind, service_ids: Sequence[int], severity: Severity | None) -> Any:
    condition = _matching(kind, service_ids)
    if not (kind is NoticeKind.outage and severity is HIGHEST_SEVERITY):
        condition = and_(condition, Subscription.frequency == Frequency.immediate)
    return condition


class Subscriber(NamedTuple):
    """A subscription that wants a notice, with the columns of its contact and e-service
    that resolution reads."""

    subscription_id: int
    contact_id: int
    email: str
    name: str
    active: bool
    # None: the subscription follows a kind of notice for every e-service.
    service_name: str | None


def subscribers_for(
    session: Session, kind: NoticeKind, service_ids: Sequence[int], *, severity: Severity | None = None
) -> list[Subscriber]:
    """The subscriptions that want immediate mail about a notice of ``kind`` on
    ``service_ids``; for outages of the highest severity, every matching subscription.

    Rows of the needed columns, not ORM objects: a region's notice matches thousands of
    subscriptions, and loading each with its contact took most of a recipient page."""
    rows = session.execute(
        select(
            Subscription.id,
            Subscription.contact_id,
            Contact.email,
            Contact.name,
            Contact.active,
            Service.name,
        )
        .join(Contact, Contact.id == Subscription.contact_id)
        .outerjoin(Service, Service.id == Subscription.service_id)
        .where(_immediate(kind, service_ids, severity))
        .order_by(Subscription.id)
    )
    return [Subscriber(*row) for row in rows]


def digest_only_contact_ids(session: Session, kind: NoticeKind) -> set[int]:
    """Role-based recipients who take notices of ``kind`` in their digest instead."""
    if kind not in DIGESTIBLE_KINDS:
        return set()
    return set(
        session.scalars(
            select(SubscriberProfile.contact_id).where(SubscriberProfile.role_digest != Frequency.immediate)
        )
    )


def unsubscribed_addresses(session: Session, emails: Iterable[str]) -> set[str]:
    wanted = {e.lower() for e in emails}
    if not wanted:
        return set()
    found = set(session.scalars(select(Unsubscribe.email)))
    return wanted & found


def _subscriptions_query(contact: Contact | None) -> Any:
    query = (
        select(Subscription)
        .join(Contact)
        .options(selectinload(Subscription.contact), selectinload(Subscription.service))
        .order_by(Contact.name, Subscription.id)
    )
    if contact is not None:
        query = query.where(Subscription.contact_id == contact.id)
    return query


def list_subscriptions(session: Session, contact: Contact | None = None) -> list[Subscription]:
    return list(session.scalars(_subscriptions_query(contact)))


def subscription_page(
    session: Session, contact: Contact | None = None, *, text: str = "", page: int = 1, per_page: int = 50
) -> Page[Subscription]:
    """One page of the subscriptions, of one contact or of the contacts whose name or
    address contains ``text``: a region has thousands."""
    query = _subscriptions_query(contact)
    if text.strip():
        query = query.where(contains_text(session, text.strip(), Contact.name, Contact.email))
    return paginate(session, query, page, per_page)


def contact_choices(session: Session, text: str = "", limit: int = 50) -> list[Contact]:
    """Active contacts to pick from, at most ``limit``: those matching ``text`` if given."""
    query = select(Contact).where(Contact.active.is_(True)).order_by(Contact.name, Contact.id).limit(limit)
    if text.strip():
        query = query.where(contains_text(session, text.strip(), Contact.name, Contact.email))
    return list(session.scalars(query))


def subscribe(
    session: Session,
    contact: Contact,
    *,
    service: Service | None = None,
    kind: NoticeKind | None = None,
    frequency: Frequency = Frequency.immediate,
) -> Subscription:
    if (service is None) == (kind is None):
        raise SubscriptionError("Välj antingen en e-tjänst eller en typ av meddelande.")
    existing = session.scalar(
        select(Subscription).where(
            Subscription.contact_id == contact.id,
            Subscription.service_id == service.id if service else Subscription.service_id.is_(None),
            Subscription.notice_kind == kind if kind else Subscription.notice_kind.is_(None),
        )
    )
    if existing is not None:
        raise SubscriptionError("Kontakten prenumererar redan på det.")
    subscription = Subscription(contact=contact, service=service, notice_kind=kind, frequency=frequency)
    session.add(subscription)
    # Subscribing again is a clear wish to receive mail.
    resubscribe(session, contact.email)
    session.flush()
    return subscription


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _token(signer: Signer, email: str) -> str:
    # A bare Signer over the base64 address: a tenth of the cost of a Serializer, which
    # matters when one notice goes to ten thousand people.
    payload = base64.urlsafe_b64encode(email.lower().encode()).rstrip(b"=")
    return signer.sign(payload).decode()


def unsubscribe_token(email: str) -> str:
    return _token(_signer(), email)


def unsubscribe_links() -> Callable[[str], str]:
    """A function from address to its unsubscribe URL, for signing many in a row."""
    signer = _signer()
    base = f"{current_app.config['BASE_URL']}/unsubscribe/"
    return lambda email: base + _token(signer, email)


def unsubscribe_url(email: str) -> str:
    return unsubscribe_links()(email)


def email_from_token(token: str) -> str | None:
    try:
        payload = _signer().unsign(token.encode())
        email = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)).decode()
    except (BadSignature, ValueError, UnicodeError):
        return None
    return email if "@" in email else None


def unsubscribe(session: Session, email: str) -> None:
    """Stop notice mail to ``email``: it is left off every list until it is undone.

    Subscriptions are kept, so undoing (``resubscribe``) restores exactly what was there.
    """
    key = email.lower()
    if session.scalar(select(Unsubscribe).where(Unsubscribe.email == key)) is None:
        session.add(Unsubscribe(email=key))
        # Coordinators see this opt-out like every other one.
        contact = session.scalar(select(Contact).where(func.lower(Contact.email) == key))
        session.add(
            OptOut(
                contact_id=contact.id if contact else None,
                email=key,
                description=_("Alla utskick (äldre avregistreringslänk)"),
                via="one_click",
            )
        )
    session.flush()


def resubscribe(session: Session, email: str) -> None:
    row = session.scalar(select(Unsubscribe).where(Unsubscribe.email == email.lower()))
    if row is not None:
        session.delete(row)


def is_unsubscribed(session: Session, email: str) -> bool:
    return session.scalar(select(Unsubscribe).where(Unsubscribe.email == email.lower())) is not None


# --- signed links ------------------------------------------------------------------------


def _timestamp_signer(salt: str) -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=salt)


def preferences_links() -> Callable[[int], str]:
    """A function from contact id to a fresh preferences URL, for signing many in a row."""
    signer = _timestamp_signer(PREFERENCES_SALT)
    base = f"{current_app.config['BASE_URL']}/preferences/"
    return lambda contact_id: base + signer.sign(str(contact_id)).decode()


def preferences_url(contact_id: int) -> str:
    return preferences_links()(contact_id)


def one_click_links() -> Callable[[int, str], str]:
    """(contact id, scope) → the RFC 8058 one-click URL that ends that scope's subscriptions.

    Scope: ``notice_scope()`` of a notice (the subscriptions its mail came through) or a digest
    period (``daily``/``weekly``).
    """
    signer = _timestamp_signer(ONE_CLICK_SALT)
    base = f"{current_app.config['BASE_URL']}/one-click/"
    return lambda contact_id, scope: base + signer.sign(f"{contact_id}.{scope}").decode()


def _unsign(salt: str, token: str, max_age_days: int) -> str:
    try:
        return _timestamp_signer(salt).unsign(token, max_age=max_age_days * 86400).decode()
    except SignatureExpired as error:
        raise LinkExpired(_("Länken har gått ut.")) from error
    except (BadSignature, UnicodeError) as error:
        raise SubscriptionError(_("Länken är ogiltig.")) from error


def contact_from_preferences_token(session: Session, token: str) -> Contact:
    value = _unsign(PREFERENCES_SALT, token, current_app.config["PREFERENCES_LINK_DAYS"])
    contact = session.get(Contact, int(value)) if value.isdigit() else None
    if contact is None:
        raise SubscriptionError(_("Länken är ogiltig."))
    return contact


def one_click_target(session: Session, token: str) -> tuple[Contact, str]:
    value = _unsign(ONE_CLICK_SALT, token, current_app.config["ONE_CLICK_LINK_DAYS"])
    contact_id, _sep, scope = value.partition(".")
    contact = session.get(Contact, int(contact_id)) if contact_id.isdigit() else None
    if contact is None or not scope:
        raise SubscriptionError(_("Länken är ogiltig."))
    return contact, scope


def notice_scope(kind: NoticeKind, service_ids: Sequence[int]) -> str:
    """The one-click scope of a notice's mail: its kind and services, signed into the link,
    so ending "the subscriptions this mail came through" needs no notice (and this package
    never imports notices)."""
    return f"n{kind.value}:" + "-".join(str(i) for i in sorted(set(service_ids)))


def _parse_notice_scope(scope: str) -> tuple[NoticeKind, set[int]] | None:
    kind_value, sep, ids = scope[1:].partition(":")
    if not sep or kind_value not in NoticeKind._value2member_map_:
        return None
    if ids and not all(part.isdigit() for part in ids.split("-")):
        return None
    return NoticeKind(kind_value), {int(part) for part in ids.split("-")} if ids else set()


def notice_mail_links(
    session: Session, kind: NoticeKind, service_ids: Sequence[int], severity: Severity | None
) -> Callable[[int | None, str], dict[str, str]]:
    """Personalisation for one notice's mail: everyone gets a fresh preferences link;
    people who get it through a subscription also get the one-click unsubscribe
    (List-Unsubscribe), which ends exactly those subscriptions. Duty mail has none."""
    # Contact ids only: the full rows were already loaded once for the recipient list.
    condition = _immediate(kind, service_ids, severity)
    subscribed = set(session.scalars(select(Subscription.contact_id).where(condition).distinct()))
    preferences = preferences_links()
    one_click = one_click_links()
    legacy = unsubscribe_links()
    scope = notice_scope(kind, service_ids)

    def links(contact_id: int | None, email: str) -> dict[str, str]:
        if contact_id is None:
            # An address the coordinator added by hand has no preferences: it can stop mail.
            return {"preferences_url": legacy(email), "unsubscribe_url": legacy(email)}
        values = {"preferences_url": preferences(contact_id), "unsubscribe_url": ""}
        if contact_id in subscribed:
            values["unsubscribe_url"] = one_click(contact_id, scope)
        return values

    return links


# --- what a subscription covers ----------------------------------------------------------


def describe(subscription: Subscription) -> str:
    kind = str(KIND_LABELS[subscription.notice_kind]) if subscription.notice_kind else _("alla typer")
    service = subscription.service.name if subscription.service else _("alla e-tjänster")
    return f"{kind} – {service}"


def _end(session: Session, contact: Contact, ids: list[int], description: str, via: str) -> int:
    """Delete the subscriptions and record the opt-out, once: a second (or concurrent)
    request for the same subscriptions deletes nothing and records nothing."""
    if not ids:
        return 0
    result = session.execute(
        # "fetch": the deleted rows leave the session too, so a new row reusing an id is
        # not mistaken for one of them.
        delete(Subscription).where(Subscription.id.in_(ids)).execution_options(synchronize_session="fetch")
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    if count:
        session.add(OptOut(contact_id=contact.id, email=contact.email, description=description, via=via))
    session.flush()
    return count


def end_by_one_click(session: Session, contact: Contact, scope: str) -> int:
    """The RFC 8058 POST: end the subscriptions the mail came through; idempotent."""
    subscriptions = list_subscriptions(session, contact)
    notice = _parse_notice_scope(scope) if scope.startswith("n") else None
    if notice is not None:
        kind, service_ids = notice
        chosen = [s for s in subscriptions if matches(s.notice_kind, s.service_id, kind, service_ids)]
    elif scope in {Frequency.daily.value, Frequency.weekly.value}:
        chosen = [s for s in subscriptions if s.frequency.value == scope]
    else:
        return 0
    description = ", ".join(describe(s) for s in chosen)
    return _end(session, contact, [s.id for s in chosen], description, "one_click")


def profile_for(session: Session, contact: Contact) -> SubscriberProfile:
    profile = session.scalar(select(SubscriberProfile).where(SubscriberProfile.contact_id == contact.id))
    if profile is None:
        profile = SubscriberProfile(contact_id=contact.id)
        session.add(profile)
    return profile


def profiles_by_contact(session: Session, contact_ids: Iterable[int]) -> dict[int, SubscriberProfile]:
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = session.scalars(select(SubscriberProfile).where(SubscriberProfile.contact_id.in_(ids)))
    return {p.contact_id: p for p in rows}


@dataclass(frozen=True)
class Choices:
    """What a person follows: no services means all of them."""

    service_ids: tuple[int, ...]
    kinds: tuple[NoticeKind, ...]
    frequency: Frequency

    def to_json(self) -> dict[str, Any]:
        return {
            "services": list(self.service_ids),
            "kinds": [k.value for k in self.kinds],
            "frequency": self.frequency.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Choices:
        return cls(
            tuple(int(i) for i in data.get("services", [])),
            tuple(NoticeKind(k) for k in data.get("kinds", [])),
            Frequency(data.get("frequency", Frequency.immediate.value)),
        )


def current_choices(subscriptions: Sequence[Subscription]) -> Choices:
    """The form's view of a contact's subscriptions (the most common frequency)."""
    services = sorted({s.service_id for s in subscriptions if s.service_id is not None})
    kinds = {s.notice_kind for s in subscriptions if s.notice_kind is not None}
    if any(s.notice_kind is None for s in subscriptions):
        kinds = set(NoticeKind)
    frequencies = [s.frequency for s in subscriptions]
    frequency = max(set(frequencies), key=frequencies.count) if frequencies else Frequency.immediate
    return Choices(tuple(services), tuple(k for k in NoticeKind if k in kinds), frequency)


def set_subscriptions(
    session: Session, contact: Contact, choices: Choices, *, via: str = "preferences"
) -> None:
    """Make the contact's subscriptions exactly ``choices`` (services × kinds, one
    frequency); what is dropped is recorded as an opt-out for the coordinators."""
    wanted = {(service_id, kind) for service_id in (choices.service_ids or (None,)) for kind in choices.kinds}
    existing = list_subscriptions(session, contact)
    dropped = [s for s in existing if (s.service_id, s.notice_kind) not in wanted]
    if dropped:
        _end(session, contact, [s.id for s in dropped], ", ".join(describe(s) for s in dropped), via)
        existing = list_subscriptions(session, contact)
    have = {(s.service_id, s.notice_kind): s for s in existing}
    for key in sorted(wanted, key=lambda k: (k[0] or 0, k[1].value)):
        subscription = have.get(key)
        if subscription is None:
            session.add(
                Subscription(
                    contact_id=contact.id, service_id=key[0], notice_kind=key[1], frequency=choices.frequency
                )
            )
        else:
            subscription.frequency = choices.frequency
    if wanted:
        resubscribe(session, contact.email)
    session.flush()


# --- self-service sign-up (double opt-in) ------------------------------------------------


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _address_allowed(session: Session, email: str, now: datetime) -> bool:
    """At most SUBSCRIBE_MAILS_PER_ADDRESS sign-up mails a day to one address, counted in
    the database so the limit holds across web processes."""
    since = now - timedelta(days=1)
    sent = session.scalar(
        select(func.count())
        .select_from(AddressMail)
        .where(AddressMail.email_hash == _hash(email), AddressMail.created_at > since)
    )
    return (sent or 0) < current_app.config["SUBSCRIBE_MAILS_PER_ADDRESS"]


def request_subscription(
    session: Session,
    *,
    email: str,
    name: str,
    organisation: str,
    language: str,
    choices: Choices,
    now: datetime | None = None,
) -> None:
    """Handle a sign-up; the caller commits and shows the same page whatever happened.

    An unknown address gets a confirmation link (48 h) and nothing else until it is
    confirmed; a known one gets a "you are already on our list" mail with a preferences
    link; past the per-address limit nobody gets anything.
    """
    now = now or utcnow()
    key = email.strip().lower()
    if not _address_allowed(session, key, now):
        return
    session.add(AddressMail(email_hash=_hash(key), created_at=now))
    contact = session.scalar(select(Contact).where(func.lower(Contact.email) == key))
    if contact is not None:
        message = mail.already_known(
            language=contact.language or language,
            preferences_url=preferences_url(contact.id),
            subscriptions=[describe(s) for s in list_subscriptions(session, contact)],
        )
        enqueue(session, message, [Addressee(email=contact.email, name=contact.name, contact_id=contact.id)])
        return
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SUBSCRIBE_CONFIRM_HOURS"]
    session.add(
        PendingSubscription(
            token_hash=_hash(token),
            email=key,
            name=name.strip()[:200],
            organisation=organisation.strip()[:200],
            language=language,
            choices=choices.to_json(),
            expires_at=now + timedelta(hours=hours),
            created_at=now,
        )
    )
    url = f"{current_app.config['BASE_URL']}/subscribe/confirm/{token}"
    message = mail.confirmation(language=language, confirm_url=url, hours=hours)
    enqueue(session, message, [Addressee(email=key, name=name.strip())])


def pending_for_token(session: Session, token: str, now: datetime | None = None) -> PendingSubscription:
    pending = session.scalar(
        select(PendingSubscription).where(PendingSubscription.token_hash == _hash(token))
    )
    if pending is None:
        raise SubscriptionError(_("Länken är ogiltig."))
    if pending.confirmed_at is None and pending.expires_at <= (now or utcnow()):
        raise LinkExpired(_("Länken har gått ut. Anmäl dig igen, så skickar vi en ny."))
    return pending


def confirm_subscription(session: Session, token: str, now: datetime | None = None) -> Contact:
    """Turn a pending sign-up into a self-subscribed contact with its subscriptions.

    Confirming twice is harmless: the second time only finds the contact.
    """
    now = now or utcnow()
    pending = pending_for_token(session, token, now)
    contact = session.scalar(select(Contact).where(func.lower(Contact.email) == pending.email))
    if pending.confirmed_at is not None and contact is not None:
        return contact
    if contact is None:
        contact = Contact(name=pending.name, email=pending.email, language=pending.language, unit_id=None)
        session.add(contact)
        session.flush()
        profile = profile_for(session, contact)
        profile.self_subscribed = True
        profile.organisation = pending.organisation
        profile.confirmed_at = now
    pending.confirmed_at = now
    set_subscriptions(session, contact, Choices.from_json(pending.choices))
    return contact


# --- what someone gets because of their role in the plan ---------------------------------


def role_reasons(session: Session, contact: Contact) -> list[str]:
    """Why the plan sends this person mail, in the words of the resolution's reasons."""
    reasons: list[str] = []
    if contact.unit_id is not None and contact.unit is not None:
        unit = contact.unit
        for row in session.scalars(
            select(Recipient).where(Recipient.unit_id == unit.id).order_by(Recipient.position)
        ):
            reasons.append(_("Mottagare av information: %(unit)s (%(role)s)", unit=unit.name, role=row.role))
        for row in session.scalars(
            select(Responsibility)
            .where(Responsibility.responsible_unit_id == unit.id)
            .options(selectinload(Responsibility.service), selectinload(Responsibility.system))
            .order_by(Responsibility.position)
        ):
            target = row.service.name + (f" / {row.system.name}" if row.system else "")
            reasons.append(
                _("Ansvarig enligt ansvarstabellen: %(unit)s för %(target)s", unit=unit.name, target=target)
            )
        for system in session.scalars(
            select(System).where(System.object_unit_id == unit.id).order_by(System.name)
        ):
            reasons.append(_("Systemobjekt för %(system)s: %(unit)s", system=system.name, unit=unit.name))
    for group in contact.groups:
        reasons.append(_("Intressentgrupp: %(group)s", group=group.name))
    return reasons


def set_role_digest(session: Session, contact: Contact, frequency: Frequency) -> None:
    profile_for(session, contact).role_digest = frequency
    session.flush()


def request_role_change(session: Session, contact: Contact, roles: Sequence[str]) -> RoleRequest:
    """Record "I no longer have this role" for the coordinators; one open request at a time."""
    open_request = session.scalar(
        select(RoleRequest).where(RoleRequest.contact_id == contact.id, RoleRequest.handled_at.is_(None))
    )
    if open_request is not None:
        return open_request
    request = RoleRequest(contact_id=contact.id, roles="\n".join(roles))
    session.add(request)
    session.flush()
    return request


def handle_role_request(
    session: Session, request: RoleRequest, user: User, now: datetime | None = None
) -> None:
    request.handled_at = now or utcnow()
    request.handled_by_id = user.id
    session.flush()


def open_role_request(session: Session, contact: Contact) -> RoleRequest | None:
    return session.scalar(
        select(RoleRequest).where(RoleRequest.contact_id == contact.id, RoleRequest.handled_at.is_(None))
    )


def list_opt_outs(
    session: Session, contact: Contact | None = None, *, limit: int = 50, offset: int = 0
) -> list[OptOut]:
    query = (
        select(OptOut)
        .options(selectinload(OptOut.contact))
        .order_by(OptOut.created_at.desc(), OptOut.id.desc())
    )
    if contact is not None:
        query = query.where(OptOut.contact_id == contact.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def list_role_requests(
    session: Session, contact: Contact | None = None, *, limit: int = 50, offset: int = 0
) -> list[RoleRequest]:
    """Open requests first, newest first."""
    query = (
        select(RoleRequest)
        .options(selectinload(RoleRequest.contact), selectinload(RoleRequest.handled_by))
        .order_by(RoleRequest.handled_at.is_not(None), RoleRequest.created_at.desc(), RoleRequest.id.desc())
    )
    if contact is not None:
        query = query.where(RoleRequest.contact_id == contact.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def prune_sign_ups(session: Session, now: datetime | None = None) -> int:
    """Delete sign-ups never confirmed within their link's life (the privacy notice
    promises it) and per-address counters older than the limit's day; commits."""
    now = now or utcnow()
    deleted = session.execute(
        delete(PendingSubscription).where(
            PendingSubscription.confirmed_at.is_(None), PendingSubscription.expires_at <= now
        )
    ).rowcount  # type: ignore[attr-defined]
    # Confirmed ones have done their job: the contact and its subscriptions hold the data.
    deleted += session.execute(
        delete(PendingSubscription).where(PendingSubscription.confirmed_at <= now - timedelta(days=1))
    ).rowcount  # type: ignore[attr-defined]
    session.execute(delete(AddressMail).where(AddressMail.created_at <= now - timedelta(days=1)))
    session.commit()
    return deleted or 0
