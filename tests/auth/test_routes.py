"""Every route has a declared access rule: the URL map matches docs/routes.md."""

from __future__ import annotations

from pathlib import Path

from commsplan.auth import routes
from commsplan.auth.guard import public, role_required
from commsplan.auth.models import Role

DOC = Path(__file__).resolve().parents[2] / routes.DOC_PATH


def test_every_route_and_method_has_a_rule(app):
    table = routes.access_table(app)
    assert len(table) > 100
    allowed = set(routes.RULES) | {f"token ({role.value})" for role in Role}
    assert {row.rule for row in table} <= allowed
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == {row.endpoint for row in table}


def test_the_declared_table_in_docs_is_current(app):
    stale = routes.undeclared(app, DOC.read_text(encoding="utf-8"))
    assert stale == [], "run `flask --app wsgi commsplan routes --write` and review the diff"
    assert DOC.read_text(encoding="utf-8") == routes.render_markdown(routes.access_table(app))


def test_a_new_route_without_a_declaration_fails(app):
    declared = DOC.read_text(encoding="utf-8")

    @public
    def leak() -> str:
        return "x"

    @role_required(Role.admin)
    def tool() -> str:
        return "x"

    app.add_url_rule("/new-public/<token>", "leak", leak, methods=["GET", "POST"])
    app.add_url_rule("/admin/new-tool", "tool", tool)
    app.add_url_rule("/new-default", "default", lambda: "x", methods=["GET", "POST"])

    assert {(r.url, r.method, r.rule) for r in routes.undeclared(app, declared)} == {
        ("/new-public/<token>", "GET", "token"),
        ("/new-public/<token>", "POST", "token"),
        ("/admin/new-tool", "GET", "admin"),
        ("/new-default", "GET", "coordinator"),  # a form page: as strict as its POST
        ("/new-default", "POST", "coordinator"),
    }


def test_a_changed_rule_fails_too(app):
    declared = DOC.read_text(encoding="utf-8")
    loosened = declared.replace("| `/status` | GET | public |", "| `/status` | GET | viewer |")
    assert loosened != declared
    assert [(r.url, r.rule) for r in routes.undeclared(app, loosened)] == [("/status", "public")]


def test_cli_prints_the_table(app, runner):
    result = runner.invoke(args=["commsplan", "routes"])
    assert result.exit_code == 0
    assert result.output == routes.render_markdown(routes.access_table(app))
