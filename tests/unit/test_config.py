import pytest

from app import create_app
from app.config import DEFAULT_SECRET, ConfigError, check_production, normalize_db_url

pytestmark = pytest.mark.unit

GOOD = {
    "AUTH_JWT_SECRET": "x" * 40,
    "KASPI_API_KEY": "live-key",
    "BILLING_DEV_ENDPOINTS": False,
    "DEBUG": False,
}


def test_production_accepts_safe_settings():
    check_production(GOOD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AUTH_JWT_SECRET": DEFAULT_SECRET}, "AUTH_JWT_SECRET"),
        ({"AUTH_JWT_SECRET": "short"}, "at least 32"),
        ({"BILLING_DEV_ENDPOINTS": True}, "BILLING_DEV_ENDPOINTS"),
        ({"DEBUG": True}, "debug"),
        ({"KASPI_API_KEY": "dev-kaspi-key"}, "KASPI_API_KEY"),
    ],
)
def test_production_refuses_unsafe_settings(change, message):
    with pytest.raises(ConfigError, match=message):
        check_production({**GOOD, **change})


def test_create_app_refuses_production_with_defaults(monkeypatch):
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    with pytest.raises(ConfigError):
        create_app({"PROFILE": "production"})


def test_dev_endpoints_absent_unless_enabled():
    app = create_app({"PROFILE": "production", **GOOD})
    assert "billing_dev.settle" not in app.view_functions
    dev = create_app({"PROFILE": "development"})
    assert "billing_dev.settle" not in dev.view_functions
    on = create_app({"PROFILE": "development", "BILLING_DEV_ENDPOINTS": True})
    assert "billing_dev.settle" in on.view_functions


def test_the_default_profile_is_production(monkeypatch):
    monkeypatch.delenv("BILLING_ENV", raising=False)
    monkeypatch.setenv("AUTH_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("KASPI_API_KEY", "live-key")
    monkeypatch.delenv("BILLING_DEV_ENDPOINTS", raising=False)
    app = create_app()
    assert app.config["ENV_NAME"] == "production"
    assert not any(rule.rule.startswith("/api/dev/") for rule in app.url_map.iter_rules())


@pytest.mark.parametrize(
    "url", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"]
)
def test_database_urls_use_psycopg3(url):
    assert normalize_db_url(url) == "postgresql+psycopg://u@h/db"


def test_pgbouncer_transaction_mode_turns_off_prepared_statements(monkeypatch):
    from app.config import ProductionConfig

    monkeypatch.setenv("DATABASE_PGBOUNCER_TRANSACTION_MODE", "1")
    options = ProductionConfig.from_env()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"prepare_threshold": None}
    # The base options are kept (no pre-ping: a dead connection is invalidated on error).
    rest = {key: value for key, value in options.items() if key != "connect_args"}
    assert rest == ProductionConfig.SQLALCHEMY_ENGINE_OPTIONS


def test_the_broker_defaults_to_redis_and_can_be_separate(monkeypatch):
    from app.config import ProductionConfig, broker_url

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    assert broker_url({"REDIS_URL": "redis://r:6379/0"}) == "redis://r:6379/0"
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://u:p@mq:5672/billing")
    values = ProductionConfig.from_env()
    assert broker_url({"REDIS_URL": "redis://r:6379/0", **values}) == "amqp://u:p@mq:5672/billing"


def test_kaspi_budgets_come_from_the_environment(monkeypatch):
    from app.config import ProductionConfig

    monkeypatch.setenv("KASPI_CALL_BUDGET_S", "7.5")
    monkeypatch.setenv("KASPI_TIMEOUT_S", "4")
    monkeypatch.setenv("KASPI_POLL_TIMEOUT_S", "1.5")
    values = ProductionConfig.from_env()
    assert (values["KASPI_CALL_BUDGET_S"], values["KASPI_TIMEOUT_S"]) == (7.5, 4.0)
    assert values["KASPI_POLL_TIMEOUT_S"] == 1.5
    assert ProductionConfig.KASPI_CALL_BUDGET_S == 10.0  # the default


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("KASPI_CALL_BUDGET_S", "0"),
        ("KASPI_CALL_BUDGET_S", "10.5"),
        ("KASPI_CALL_BUDGET_S", "nan"),
        ("KASPI_CALL_BUDGET_S", "ten"),
        ("KASPI_TIMEOUT_S", "-1"),
        ("KASPI_POLL_TIMEOUT_S", "inf"),
    ],
)
def test_kaspi_budgets_out_of_range_are_refused(monkeypatch, key, value):
    from app.config import ProductionConfig

    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=key):
        ProductionConfig.from_env()


def test_production_refuses_a_register_without_its_credentials():
    from app.config import ConfigError, check_production

    good = {
        "AUTH_JWT_SECRET": "x" * 40,
        "KASPI_API_KEY": "real-kaspi-key",
        "FISCAL_BASE_URL": "https://devkkm.webkassa.kz",
    }
    with pytest.raises(ConfigError, match="FISCAL_LOGIN, FISCAL_PASSWORD, FISCAL_CASHBOX not"):
        check_production(good)
    check_production({**good, "FISCAL_LOGIN": "l", "FISCAL_PASSWORD": "p", "FISCAL_CASHBOX": "c"})
    check_production({**good, "FISCAL_BASE_URL": ""})  # off is allowed, and said
