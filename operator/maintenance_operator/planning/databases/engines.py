"""The engine table: everything that differs between PostgreSQL, MySQL and Redis, in one reviewable place.

Manifest builders and version decisions read only this table, so supporting a new release is a one-line change
here (plus its test row) and no engine name is compared anywhere else.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from maintenance_operator.api.database import Engine

# Keys of the generated credentials Secret. Stable: applications read them (`secretKeyRef`, `envFrom`).
SECRET_USERNAME: Final = "username"
SECRET_PASSWORD: Final = "password"
SECRET_DATABASE: Final = "database"
SECRET_ROOT_PASSWORD: Final = "root-password"
SECRET_HOST: Final = "host"
SECRET_PORT: Final = "port"

# The application user and schema the engines create on first start. Fixed rather than derived from the
# ManagedDatabase name: object names allow `-` and 253 characters, SQL identifiers would need quoting and truncation.
APP_USER: Final = "app"
APP_DATABASE: Final = "app"

_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")


def parse_version(text: str) -> tuple[int, ...] | None:
    """`16.4` -> (16, 4); None for anything that is not dotted numbers (the CRD pattern, re-checked defensively)."""
    if not _VERSION.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class SecretEnv:
    """A container environment variable filled from a key of the credentials Secret."""

    env: str
    key: str


@dataclass(frozen=True)
class EngineSpec:
    name: Engine
    title: str  # how messages name it
    image: str  # repository of the official image; the tag is the exact version
    port: int
    port_name: str
    data_path: str  # where the `data` volume is mounted
    # Directory inside the volume the engine uses: a fresh filesystem has `lost+found` at its root, which
    # `initdb` and `mysqld --initialize` refuse as "not empty". None mounts the volume root (Redis does not care).
    data_sub_path: str | None
    readiness: tuple[str, ...]  # exec probe: must succeed only once the server accepts client connections
    secret_env: tuple[SecretEnv, ...]
    generated: tuple[str, ...]  # Secret keys holding generated passwords, in generation order
    fixed: Mapping[str, str]  # Secret keys with fixed values (user and database names)
    args: tuple[str, ...] = ()  # container args; `$(VAR)` is expanded by the kubelet from the container env
    pre_stop: tuple[str, ...] = ()  # exec hook for a clean, fast shutdown when the default signal is not enough
    # How many leading version components name the release series: upgrades stay inside one series.
    series_parts: int = 1
    series_noun: str = "major version"
    downgrade_allowed: bool = False
    versions: tuple[str, ...] = ()  # exact versions (image tags) the operator runs, oldest first
    across_series: str = ""  # why a series change is not done in place, and what to do instead ({to} = target)
    downgrade_refusal: str = ""  # why a downgrade is refused

    def image_ref(self, version: str) -> str:
        return f"{self.image}:{version}"

    def series(self, version: tuple[int, ...]) -> tuple[int, ...]:
        return version[: self.series_parts]

    def series_label(self, version: tuple[int, ...]) -> str:
        return ".".join(str(part) for part in self.series(version))

    def known(self, version: str) -> str | None:
        """The table's spelling of `version` (so `16.04` finds `16.4`), or None when the operator does not run it."""
        parsed = parse_version(version)
        return next((v for v in self.versions if parse_version(v) == parsed), None) if parsed else None

    def known_in_series(self, series: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(v for v in self.versions if self.series(parse_version(v) or ()) == series)


_DUMP_HINT = (
    "create a new ManagedDatabase with version {to}, load a dump of this one into it ({dump}), switch clients to "
    "it, then delete this one"
)

POSTGRESQL = EngineSpec(
    name="postgresql",
    title="PostgreSQL",
    image="docker.io/library/postgres",
    port=5432,
    port_name="postgresql",
    data_path="/var/lib/postgresql/data",
    data_sub_path="pgdata",
    # Over TCP, so the image's socket-only bootstrap server does not count as ready; with the app user, so the
    # probe does not log `role "root" does not exist` every period.
    readiness=("sh", "-c", 'exec pg_isready -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'),
    secret_env=(
        SecretEnv("POSTGRES_USER", SECRET_USERNAME),
        SecretEnv("POSTGRES_PASSWORD", SECRET_PASSWORD),
        SecretEnv("POSTGRES_DB", SECRET_DATABASE),
    ),
    generated=(SECRET_PASSWORD,),
    fixed=MappingProxyType({SECRET_USERNAME: APP_USER, SECRET_DATABASE: APP_DATABASE}),
    # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to disconnect: a maintenance restart
    # would sit out the grace period and end in SIGKILL and crash recovery. Fast shutdown rolls back and stops.
    pre_stop=("sh", "-c", 'exec gosu postgres pg_ctl stop -D "$PGDATA" -m fast -w -t 50'),
    series_parts=1,
    downgrade_allowed=True,  # minor releases of one major share the on-disk format
    versions=("15.10", "15.12", "15.13", "16.4", "16.6", "16.8", "16.9", "17.2", "17.4", "17.5"),
    across_series=(
        "PostgreSQL stores data in a format specific to its major version, so a major upgrade needs a data migration "
        "(pg_upgrade or dump and restore), which the operator does not do in place. Instead, "
        + _DUMP_HINT.replace("{dump}", "pg_dump | pg_restore")
    ),
)

MYSQL = EngineSpec(
    name="mysql",
    title="MySQL",
    image="docker.io/library/mysql",
    port=3306,
    port_name="mysql",
    data_path="/var/lib/mysql",
    data_sub_path="mysql",
    # Over TCP: the image's bootstrap server runs with --skip-networking. `ping` succeeds once the server answers,
    # whatever the credentials, so the probe needs none.
    readiness=("mysqladmin", "ping", "--host=127.0.0.1", "--port=3306", "--silent"),
    secret_env=(
        SecretEnv("MYSQL_ROOT_PASSWORD", SECRET_ROOT_PASSWORD),
        SecretEnv("MYSQL_USER", SECRET_USERNAME),
        SecretEnv("MYSQL_PASSWORD", SECRET_PASSWORD),
        SecretEnv("MYSQL_DATABASE", SECRET_DATABASE),
    ),
    generated=(SECRET_PASSWORD, SECRET_ROOT_PASSWORD),
    fixed=MappingProxyType({SECRET_USERNAME: APP_USER, SECRET_DATABASE: APP_DATABASE}),
    series_parts=2,
    series_noun="release series",  # 8.0 and 8.4 are separate release series (8.4 is the next LTS, not a patch of 8.0)
    downgrade_allowed=False,
    versions=("8.0.39", "8.0.40", "8.0.41", "8.0.42", "8.4.2", "8.4.3", "8.4.4", "8.4.5"),
    across_series=(
        "MySQL upgrades its data dictionary to a new release series on first start, a one-way data migration that "
        "cannot be rolled back and changes server defaults under the clients, so the operator does not do it in "
        "place. Instead, " + _DUMP_HINT.replace("{dump}", "mysqldump or MySQL Shell dump utilities")
    ),
    downgrade_refusal=(
        "MySQL does not support downgrades: a server upgrades the data dictionary on start and an older one cannot "
        "read it. To go back, " + _DUMP_HINT.replace("{dump}", "mysqldump")
    ),
)

REDIS = EngineSpec(
    name="redis",
    title="Redis",
    image="docker.io/library/redis",
    port=6379,
    port_name="redis",
    data_path="/data",
    data_sub_path=None,
    # Only PONG means ready: redis-cli may exit 0 on an error reply (NOAUTH, LOADING). REDISCLI_AUTH authenticates.
    readiness=("sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"),
    secret_env=(SecretEnv("REDIS_PASSWORD", SECRET_PASSWORD), SecretEnv("REDISCLI_AUTH", SECRET_PASSWORD)),
    generated=(SECRET_PASSWORD,),
    fixed=MappingProxyType({}),
    # Append-only file: a database the platform backs up must not lose the writes since the last RDB save.
    args=("redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"),
    series_parts=1,
    downgrade_allowed=False,
    versions=("7.2.5", "7.2.6", "7.2.7", "7.4.0", "7.4.1", "7.4.2"),
    across_series=(
        "Redis major versions change persistence formats and defaults, so the operator does not switch them in "
        "place. Instead, create a new ManagedDatabase with version {to} and restoreFrom a backup of this one, "
        "check it, switch clients to it, then delete this one"
    ),
    downgrade_refusal=(
        "Redis does not support downgrades: a newer server writes persistence files (RDB, AOF) an older one may not "
        "load. To go back, create a new ManagedDatabase with version {to} and move the data into it"
    ),
)

ENGINES: Final[Mapping[str, EngineSpec]] = MappingProxyType({e.name: e for e in (POSTGRESQL, MYSQL, REDIS)})


def engine(name: str) -> EngineSpec:
    """The table row; KeyError names the supported engines (the CRD enum makes this unreachable from users)."""
    try:
        return ENGINES[name]
    except KeyError:
        raise KeyError(f"unknown engine {name!r}; supported: {', '.join(ENGINES)}") from None
