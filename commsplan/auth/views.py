from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from commsplan.auth import services
from commsplan.auth.forms import LoginForm, UserCreateForm, UserEditForm
from commsplan.auth.guard import public, role_required
from commsplan.auth.models import Role, User
from commsplan.extensions import db, limiter, login_manager
from commsplan.forms import ConfirmForm
from commsplan.redirects import local_path
from commsplan.timeutil import utcnow

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Logga in för att se sidan.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    # Called for the session and for the remember cookie alike: both hold User.get_id().
    return services.user_for_session(db.session, session_id)


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _too_many_logins() -> str:
    return _("För många inloggningsförsök från din adress. Vänta en stund och försök igen.")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_rate_limit, methods=["POST"], error_message=_too_many_logins)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(
            db.session,
            form.email.data,
            form.password.data,
            client=request.remote_addr or "unknown",
            now=utcnow(),
            policy=services.LoginPolicy.from_config(current_app.config),
        )
        db.session.commit()
        if user is None:
            # One answer for every refusal, so it tells nobody whether the address has an
            # account or is locked.
            flash(
                _(
                    "Fel e-postadress eller lösenord. Efter flera misslyckade försök spärras "
                    "inloggningen en stund."
                ),
                "error",
            )
            return render_template("auth/login.html", form=form), 401
        login_user(user, remember=form.remember.data)
        flash(_("Du är inloggad."), "success")
        return redirect(local_path(request.args.get("next"), url_for("web.index")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@public
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            # Also ends copies of this session's cookies (and the account's other sessions).
            current_user.end_sessions()
            db.session.commit()
        logout_user()
        flash(_("Du är utloggad."), "success")
    return redirect(url_for("auth.login"))


@bp.get("/users")
@role_required(Role.admin)
def users():
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("auth/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.admin)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                db.session, form.email.data, form.password.data, Role(form.role.data), form.name.data or ""
            )
        except services.AccountError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Kontot %(email)s är skapat.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@role_required(Role.admin)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            services.update_user(
                db.session,
                user,
                name=form.name.data or "",
                role=Role(form.role.data),
                active=form.active.data,
                password=form.password.data or "",
            )
        except services.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            if user.id == current_user.id and user.active:
                login_user(user)  # a new password ended this session too; keep the admin in
            flash(_("Kontot %(email)s är sparat.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/user_form.html", form=form, user=user), status


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@role_required(Role.admin)
def delete_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        if user.id == current_user.id:
            flash(_("Du kan inte ta bort ditt eget konto."), "error")
            return redirect(url_for("auth.users"))
        try:
            services.delete_user(db.session, user)
        except services.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("auth.users"))
        db.session.commit()
        flash(_("Kontot %(email)s är borttaget.", email=user.email), "success")
        return redirect(url_for("auth.users"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Ta bort kontot %(email)s?", email=user.email),
        blockers=[],
        cancel_url=url_for("auth.users"),
    )
