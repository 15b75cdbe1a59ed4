"""Settings: the pseudonymisation secret is required unless FUNNEL_ENV=dev opts out."""

from __future__ import annotations

import pytest

from pipelines.settings import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    DEV_SECRET,
    MissingSecretError,
    load_settings,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def no_secret(monkeypatch):
    monkeypatch.delenv("FUNNEL_PSEUDONYMISATION_SECRET", raising=False)
    monkeypatch.delenv("FUNNEL_ENV", raising=False)


def test_missing_secret_fails_on_use_not_on_load(no_secret):
    settings = load_settings()  # Dagster imports definitions without the secret: no error here
    with pytest.raises(MissingSecretError) as raised:
        settings.require_secret()
    message = str(raised.value)
    assert "FUNNEL_PSEUDONYMISATION_SECRET" in message
    assert "FUNNEL_ENV=dev" in message
    with pytest.raises(MissingSecretError):
        _ = settings.pseudonymisation_secret  # existing callers' attribute access
    assert not settings.uses_dev_secret


def test_empty_secret_counts_as_missing(no_secret, monkeypatch):
    monkeypatch.setenv("FUNNEL_PSEUDONYMISATION_SECRET", "")
    with pytest.raises(MissingSecretError):
        load_settings().require_secret()


def test_dev_env_opts_into_the_development_secret(no_secret, monkeypatch):
    monkeypatch.setenv("FUNNEL_ENV", "dev")
    settings = load_settings()
    assert settings.pseudonymisation_secret == DEV_SECRET
    assert settings.uses_dev_secret


def test_a_set_secret_wins_everywhere_and_stays_out_of_repr(no_secret, monkeypatch):
    monkeypatch.setenv("FUNNEL_PSEUDONYMISATION_SECRET", "s3cr3t-value")
    for env in ("", "dev", "prod"):
        monkeypatch.setenv("FUNNEL_ENV", env)
        settings = load_settings()
        assert settings.require_secret() == "s3cr3t-value"
        assert settings.pseudonymisation_secret == "s3cr3t-value"
        assert not settings.uses_dev_secret
        assert "s3cr3t-value" not in repr(settings)


def test_lock_timeout_setting(monkeypatch):
    monkeypatch.delenv("FUNNEL_LOCK_TIMEOUT_SECONDS", raising=False)
    assert load_settings().lock_timeout_seconds == DEFAULT_LOCK_TIMEOUT_SECONDS
    monkeypatch.setenv("FUNNEL_LOCK_TIMEOUT_SECONDS", "90")
    assert load_settings().lock_timeout_seconds == 90.0
    for bad in ("-1", "soon", "nan"):
        monkeypatch.setenv("FUNNEL_LOCK_TIMEOUT_SECONDS", bad)
        with pytest.raises(ValueError, match="FUNNEL_LOCK_TIMEOUT_SECONDS"):
            load_settings()
