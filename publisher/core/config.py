"""Settings: environment (PUBLISHER_*) over an optional publisher.toml over defaults.

Every setting has a default, a help text and an env var; the README's configuration
reference is checked against this class by a test.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from publisher.core import tomlplacement
from publisher.core.alertsettings import AlertSettings
from publisher.core.analyticssettings import AnalyticsSettings
from publisher.core.consentsettings import ConsentSettings
from publisher.core.consolesettings import ConsoleSettings
from publisher.core.errors import PublisherError
from publisher.core.feedsettings import FeedSettings
from publisher.core.fieldchecks import email_address, http_url
from publisher.core.inboundsettings import InboundSettings
from publisher.core.mailsettings import DeliverySettings, DigestSettings, DomainLimit
from publisher.core.sourcesettings import (
    SOURCE_NAME,
    FeedSource,
    FolderSource,
    JsonSource,
    SourceConfig,
    SourceSettings,
)
from publisher.core.syndicationsettings import SyndicationSettings
from publisher.core.vocab import EventLoop
from publisher.core.websettings import WebApiSettings

__all__ = [
    "CONFIG_ENV", "ENV_PREFIX", "SOURCE_NAME", "ConfigError", "DomainLimit", "FeedSource",
    "FolderSource", "JsonSource", "Settings", "SourceConfig", "load_settings", "local_base_url",
]  # fmt: skip

ENV_PREFIX = "PUBLISHER_"
CONFIG_ENV = "PUBLISHER_CONFIG"


class ConfigError(PublisherError):
    """Every problem found, each prefixed with where it came from and its key path."""

    def __init__(self, problems: list[str], *, schedules_file: Path | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.schedules_file = schedules_file  # where to check schedules.yaml all the same


class MisplacedSettingError(ConfigError):
    """A ConfigError whose problems include top-level settings written after a ``[[...]]``
    header of the TOML file (so TOML put them in that table): ``misplaced`` lists (table,
    key), e.g. ("inbound_sources[0]", "smtp_url")."""

    def __init__(
        self, problems: list[str], *, misplaced: list[tuple[str, str]], schedules_file: Path
    ) -> None:
        super().__init__(problems, schedules_file=schedules_file)
        self.misplaced = misplaced


def local_base_url(host: object, port: object) -> str | None:
    """http://host:port of the web server as a browser on this machine reaches it; None when
    the port is unknown (0: chosen at bind time) or invalid (validation reports it)."""
    try:
        number = int(str(port))
    except ValueError:
        return None
    if not 0 < number <= 65535 or not isinstance(host, str):
        return None
    name = host.strip().strip("[]")
    if name in ("", "0.0.0.0", "::"):
        name = "127.0.0.1"  # bound to every address: this machine's own is one of them
    return f"http://[{name}]:{number}" if ":" in name else f"http://{name}:{number}"


class SiteSettings(BaseModel):
    # --- site ---
    site_name: str = Field(default="Example News", description="The site's name.")
    site_url: str = Field(default="https://news.example.kr/", description="The site's home page.")
    language: Literal["ko", "en"] = Field(default="ko", description="Language of pages and mail.")
    timezone: str = Field(default="Asia/Seoul", description="Site timezone (IANA name).")
    demo: bool = Field(default=False, description="Demo mode: relaxes secret_key, enables /dev.")

    # --- storage and paths ---
    database_url: str = Field(
        default="sqlite:///var/publisher.db",
        description="Where the store lives: sqlite:///path or postgresql://user@host/db.",
    )
    feeds_dir: Path = Field(default=Path("feeds"), description="Output folder for feeds.")
    templates_dir: Path = Field(default=Path("templates"), description="Template folder.")
    schedules_file: Path = Field(
        default=Path("schedules.yaml"), description="The schedules file (see its reference)."
    )

    # --- mail ---
    smtp_url: str = Field(
        default="maildir://var/mail",
        description="maildir://path, smtp://user:pass@host:port, smtp+starttls://…, smtps://…",
    )
    from_address: str = Field(default="news@example.kr", description="Sender address.")
    from_name: str = Field(default="", description="Sender display name (site_name if empty).")
    reply_to: str = Field(default="", description="Reply-To address; none if empty.")
    secret_key: str = Field(
        default="", description="Signs tokens; required unless demo = true. Keep it secret."
    )

    # --- web ---
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Where the web pages are reachable (unset: http://web_host:web_port).",
    )
    web_host: str = Field(default="127.0.0.1", description="Address the web server binds.")
    web_port: int = Field(default=8080, ge=0, le=65535, description="Port the web server binds.")
    web_max_connections: int = Field(
        default=4096,
        ge=16,
        description="Open connections the web server keeps; at the limit the slowest client goes.",
    )
    web_header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client may take to send a request head."
    )
    ops_host: str = Field(
        default="127.0.0.1", description="Address of the operations listener (/metrics, /healthz)."
    )
    ops_port: int = Field(
        default=9464, ge=0, le=65535, description="Port of the operations listener; 0 turns it off."
    )


class DaemonSettings(BaseModel):
    # --- daemon ---
    leader_poll_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="How often an instance tries to take, or checks it holds, the scheduler lock.",
    )
    event_loop: EventLoop = Field(
        default="uvloop",
        description="The event loop of `publisher run` and `publisher deliver`: uvloop (less "
        "CPU per message), or asyncio's own.",
    )


# The groups in the order of the configuration reference: pydantic collects the fields of
# the bases last to first, so the first group listed here comes last.
class Settings(
    SyndicationSettings,
    ConsoleSettings,
    InboundSettings,
    AnalyticsSettings,
    WebApiSettings, DaemonSettings, SourceSettings, DigestSettings, DeliverySettings,
    FeedSettings, SiteSettings, ConsentSettings, AlertSettings, BaseSettings,
):  # fmt: skip
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    _urls = field_validator("site_url", "public_base_url")(http_url)

    _addresses = field_validator(
        "from_address", "reply_to", "delivery_return_path", "unsubscribe_mailto"
    )(email_address)

    @model_validator(mode="before")
    @classmethod
    def _public_base_url_follows_port(cls, data: Any) -> Any:
        # Unset, links in pages and mail point where the web server listens: a demo moved to
        # another port must not mail links to :8080. Behind a proxy, set it explicitly.
        if isinstance(data, dict) and not data.get("public_base_url"):
            base = local_base_url(data.get("web_host", "127.0.0.1"), data.get("web_port", 8080))
            if base is not None:
                data = {**data, "public_base_url": base}
        return data

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _supported_transport(cls, value: str) -> str:
        if not value.startswith(("maildir://", "smtp://", "smtp+starttls://", "smtps://")):
            raise ValueError("must start with maildir://, smtp://, smtp+starttls:// or smtps://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get(CONFIG_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path and _READ_TOML.get():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # Derived values, so callers never parse twice.
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def problems(self) -> list[str]:
        """Semantic problems that do not stop read-only commands but do stop `run`."""
        found: list[str] = []
        if not self.secret_key and not self.demo:
            found.append(
                f"settings: secret_key: required unless demo = true (set {ENV_PREFIX}SECRET_KEY)"
            )
        elif self.secret_key and len(self.secret_key) < 16 and not self.demo:
            found.append("settings: secret_key: too short (use at least 16 characters)")
        return found


# Lists whose items are tagged unions: pydantic puts the tag in an error's path, the file does not.
_TAGGED_LISTS = frozenset({"sources", "inbound_sources"})
# Off only while checking the environment alone, when the TOML file cannot be read.
_READ_TOML: ContextVar[bool] = ContextVar("publisher_read_toml", default=True)


def _key_path(loc: tuple[int | str, ...]) -> str:
    """("sources", 0, "folder", "settle_seconds") → "sources[0].settle_seconds"."""
    if len(loc) >= 3 and loc[0] in _TAGGED_LISTS and isinstance(loc[1], int):
        loc = (*loc[:2], *loc[3:])
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _is_complex(name: str) -> bool:
    """Whether the environment must spell this setting as JSON (a list or a table)."""
    annotation = Settings.model_fields[name].annotation
    origin = get_origin(annotation) or annotation
    return origin in (list, dict, tuple, set) or (
        isinstance(origin, type) and issubclass(origin, BaseModel)
    )


def _environment_problems(known: set[str]) -> tuple[list[str], bool]:
    """Unknown PUBLISHER_* variables and lists or tables that are not JSON; and whether the
    environment can be handed to pydantic (it stops at the first unreadable JSON)."""
    problems: list[str] = []
    readable = True
    for name in sorted(os.environ):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        setting = name[len(ENV_PREFIX) :].lower()
        if setting not in known:
            problems.append(f"environment: {name}: unknown setting")
        elif _is_complex(setting):
            try:
                json.loads(os.environ[name])
            except ValueError as exc:
                problems.append(
                    f"environment: {name}: not valid JSON ({exc}); "
                    'write lists and tables as JSON, e.g. ["a", "b"]'
                )
                readable = False
    return problems, readable


def _schedules_file(toml: Mapping[str, Any]) -> Path:
    """Where schedules.yaml is, even when the settings as a whole do not load."""
    value = os.environ.get(ENV_PREFIX + "SCHEDULES_FILE") or toml.get("schedules_file")
    default = Settings.model_fields["schedules_file"].default
    return Path(value) if isinstance(value, str) and value else Path(default)


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Load and validate settings; raise ConfigError listing *every* problem."""
    problems: list[str] = []
    toml: dict[str, Any] = {}
    toml_name = "publisher.toml"
    toml_ok = True
    toml_path = os.environ.get(CONFIG_ENV)
    if toml_path:
        toml_name = toml_path
        try:
            toml = tomllib.loads(Path(toml_path).read_text("utf-8"))
        except FileNotFoundError:
            problems.append(f"{CONFIG_ENV}: file not found: {toml_path}")
            toml_ok = False
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{toml_path}: not valid TOML: {exc}")
            toml_ok = False
    known = set(Settings.model_fields)
    astray = tomlplacement.misplaced(toml, known)
    problems += [tomlplacement.problem(toml_name, table, key) for table, key in astray]
    env_problems, env_readable = _environment_problems(known)
    problems.extend(env_problems)
    settings: Settings | None = None
    if env_readable:
        # With a TOML file that cannot be read, the environment is still checked on its own.
        token = _READ_TOML.set(toml_ok)
        try:
            settings = Settings(**dict(overrides or {}))
        except ValidationError as exc:
            for err in exc.errors():
                top = str(err["loc"][0]) if err["loc"] else ""
                in_env = ENV_PREFIX + top.upper() in os.environ or top not in toml
                where = ENV_PREFIX + top.upper() if top in known and in_env else toml_name
                msg = err["msg"]
                path = _key_path(tuple(err["loc"]))
                if err["type"] == "extra_forbidden":
                    if path in {f"{table}.{key}" for table, key in astray}:
                        continue  # said above, with what happened
                    msg = "unknown setting" if len(err["loc"]) == 1 else "unknown key"
                problems.append(f"{where}: {path}: {msg}")
        finally:
            _READ_TOML.reset(token)
    if astray:
        raise MisplacedSettingError(
            problems, misplaced=astray, schedules_file=_schedules_file(toml)
        )
    if problems or settings is None:
        raise ConfigError(problems, schedules_file=_schedules_file(toml))
    return settings
