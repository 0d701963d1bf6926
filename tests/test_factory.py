from __future__ import annotations

import pytest

from commsplan import create_app
from commsplan.config import ConfigurationError


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["BASE_URL"] == "https://commsplan.example.org"


def test_production_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("COMMSPLAN_ENV", "production")
    monkeypatch.delenv("COMMSPLAN_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="COMMSPLAN_SECRET_KEY"):
        create_app()


def test_development_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("COMMSPLAN_SECRET_KEY", raising=False)
    monkeypatch.delenv("COMMSPLAN_ENV", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second
    assert len(first) >= 40
    assert (tmp_path / "secret_key").read_text().strip() == first


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("COMMSPLAN_MAIL_PORT", "2525")
    monkeypatch.setenv("COMMSPLAN_BASE_URL", "https://plan.example.org/")
    app = create_app()
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["BASE_URL"] == "https://plan.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/commsplan.db"
