"""The engine table: official images, ports, probes, data paths, credentials and version series per engine."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.databases.engines import (
    ENGINES,
    MYSQL,
    POSTGRESQL,
    REDIS,
    SECRET_DATABASE,
    SECRET_PASSWORD,
    SECRET_ROOT_PASSWORD,
    SECRET_USERNAME,
    EngineSpec,
    SecretEnv,
    engine,
    parse_version,
)


@pytest.mark.parametrize(
    ("name", "image", "port", "data_path", "sub_path", "probe"),
    [
        ("postgresql", "docker.io/library/postgres", 5432, "/var/lib/postgresql/data", "pgdata", "pg_isready"),
        ("mysql", "docker.io/library/mysql", 3306, "/var/lib/mysql", "mysql", "mysqladmin ping"),
        ("redis", "docker.io/library/redis", 6379, "/data", None, "redis-cli"),
    ],
)
def test_engine_row(name: str, image: str, port: int, data_path: str, sub_path: str | None, probe: str) -> None:
    spec = engine(name)
    assert spec.name == name
    assert spec.image == image
    assert spec.port == port
    assert spec.data_path == data_path
    assert spec.data_sub_path == sub_path
    assert probe in " ".join(spec.readiness)
    assert str(port) in " ".join(spec.readiness)  # probes the engine's own port, over TCP
    assert "127.0.0.1" in " ".join(spec.readiness)


@pytest.mark.parametrize(
    ("spec", "env"),
    [
        (
            POSTGRESQL,
            (
                SecretEnv("POSTGRES_USER", SECRET_USERNAME),
                SecretEnv("POSTGRES_PASSWORD", SECRET_PASSWORD),
                SecretEnv("POSTGRES_DB", SECRET_DATABASE),
            ),
        ),
        (
            MYSQL,
            (
                SecretEnv("MYSQL_ROOT_PASSWORD", SECRET_ROOT_PASSWORD),
                SecretEnv("MYSQL_USER", SECRET_USERNAME),
                SecretEnv("MYSQL_PASSWORD", SECRET_PASSWORD),
                SecretEnv("MYSQL_DATABASE", SECRET_DATABASE),
            ),
        ),
        (REDIS, (SecretEnv("REDIS_PASSWORD", SECRET_PASSWORD), SecretEnv("REDISCLI_AUTH", SECRET_PASSWORD))),
    ],
    ids=lambda v: v.name if isinstance(v, EngineSpec) else "",
)
def test_credential_env(spec: EngineSpec, env: tuple[SecretEnv, ...]) -> None:
    assert spec.secret_env == env


@pytest.mark.parametrize("spec", ENGINES.values(), ids=lambda s: s.name)
def test_every_secret_key_an_env_reads_is_generated_or_fixed(spec: EngineSpec) -> None:
    provided = set(spec.generated) | set(spec.fixed)
    assert {e.key for e in spec.secret_env} <= provided
    assert not set(spec.generated) & set(spec.fixed)


def test_redis_takes_its_password_from_the_environment() -> None:
    """The official image has no password variable: `--requirepass $(REDIS_PASSWORD)` is expanded by the kubelet."""
    assert REDIS.args[REDIS.args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert "REDIS_PASSWORD" in {e.env for e in REDIS.secret_env}
    assert REDIS.args[REDIS.args.index("--appendonly") :][:2] == ("--appendonly", "yes")


def test_postgres_stops_fast_within_the_grace_period() -> None:
    assert "-m fast" in " ".join(POSTGRESQL.pre_stop)


@pytest.mark.parametrize(
    ("spec", "series"),
    [
        (POSTGRESQL, {"15", "16", "17"}),
        (MYSQL, {"8.0", "8.4"}),
        (REDIS, {"7"}),
    ],
    ids=lambda v: v.name if isinstance(v, EngineSpec) else "",
)
def test_known_versions_cover_the_current_series(spec: EngineSpec, series: set[str]) -> None:
    assert {spec.series_label(parse_version(v) or ()) for v in spec.versions} == series


@pytest.mark.parametrize("spec", ENGINES.values(), ids=lambda s: s.name)
def test_known_versions_are_exact_sorted_and_unique(spec: EngineSpec) -> None:
    parsed = [parse_version(v) for v in spec.versions]
    assert all(p is not None and len(p) > spec.series_parts for p in parsed), "exact versions, never a floating tag"
    assert parsed == sorted(parsed, key=lambda p: p or ())
    assert len(set(parsed)) == len(parsed)
    assert spec.across_series and "{to}" in spec.across_series
    assert spec.downgrade_allowed or "{to}" in spec.downgrade_refusal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16.4", (16, 4)),
        ("8.0.39", (8, 0, 39)),
        ("17", (17,)),
        ("16.04", (16, 4)),
        ("", None),
        ("latest", None),
        ("16.4-alpine", None),
        ("v16.4", None),
        ("1.2.3.4", None),
        ("16.", None),
    ],
)
def test_parse_version(text: str, expected: tuple[int, ...] | None) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (POSTGRESQL, "16.4", "16.4"),
        (POSTGRESQL, "16.04", "16.4"),  # the table's spelling is the image tag
        (POSTGRESQL, "16", None),
        (POSTGRESQL, "16.5", None),
        (MYSQL, "8.0.039", "8.0.39"),
        (MYSQL, "8.0", None),
        (REDIS, "7.4.2", "7.4.2"),
        (REDIS, "latest", None),
    ],
)
def test_known(spec: EngineSpec, text: str, expected: str | None) -> None:
    assert spec.known(text) == expected


@pytest.mark.parametrize(
    ("spec", "version", "series"),
    [(POSTGRESQL, "16.4", (16,)), (MYSQL, "8.4.3", (8, 4)), (MYSQL, "8.0.39", (8, 0)), (REDIS, "7.2.5", (7,))],
)
def test_series(spec: EngineSpec, version: str, series: tuple[int, ...]) -> None:
    assert spec.series(parse_version(version) or ()) == series


def test_image_ref_is_the_exact_version() -> None:
    assert POSTGRESQL.image_ref("16.4") == "docker.io/library/postgres:16.4"


def test_unknown_engine_names_the_supported_ones() -> None:
    with pytest.raises(KeyError, match="postgresql, mysql, redis"):
        engine("oracle")


@given(st.text(max_size=20))
def test_parse_version_round_trips_or_refuses(text: str) -> None:
    parsed = parse_version(text)
    if parsed is not None:
        assert 1 <= len(parsed) <= 3
        assert parse_version(".".join(map(str, parsed))) == parsed
