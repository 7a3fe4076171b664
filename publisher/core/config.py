"""Settings: environment (PUBLISHER_*) over an optional publisher.toml over defaults.

Every setting has a default, a help text and an env var; the README's configuration
reference is checked against this class by a test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
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

from publisher.core.addresses import AddressError
from publisher.core.addresses import normalise as normalise_address
from publisher.core.timeparse import parse_duration

ENV_PREFIX = "PUBLISHER_"
CONFIG_ENV = "PUBLISHER_CONFIG"


class ConfigError(Exception):
    """Every problem found, each prefixed with where it came from and its key path."""

    def __init__(self, problems: list[str], *, schedules_file: Path | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.schedules_file = schedules_file  # where to check schedules.yaml all the same


class DomainLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = Field(default=10.0, gt=0, description="messages per second to this domain")
    connections: int = Field(default=4, ge=1, description="connections open to this domain")


SOURCE_NAME = r"^[a-z0-9][a-z0-9-]*$"


def _http_url(value: str) -> str:
    try:
        host = urlsplit(value).hostname
    except ValueError:  # a broken [IPv6] host
        host = None
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value) or not host:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def _address(value: str) -> str:
    if value:
        try:
            normalise_address(value)
        except AddressError as exc:
            raise ValueError(f"{value!r} is not an email address: {exc}") from None
    return value


class _SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(
        pattern=SOURCE_NAME, max_length=64, description="Unique name; prefixes feed entry ids."
    )


class FolderSource(_SourceBase):
    """A drop folder of *.json / *.jsonl files (the import formats)."""

    kind: Literal["folder"]
    path: Path = Field(description="The folder the CMS writes into.")
    settle_seconds: int = Field(
        default=10, ge=0, le=3600, description="A file modified more recently than this waits."
    )


class FeedSource(_SourceBase):
    """An upstream RSS or Atom feed."""

    kind: Literal["feed"]
    url: str = Field(description="The feed's URL.")
    section: str | None = Field(
        default=None, pattern=r"^[a-z0-9-]{1,64}$", description="Section of every entry."
    )

    _url = field_validator("url")(_http_url)


class JsonSource(_SourceBase):
    """An HTTP endpoint answering a JSON array of article objects."""

    kind: Literal["json"]
    url: str = Field(description="The endpoint's URL.")
    since_param: str = Field(
        default="since", min_length=1, description="Query parameter carrying the cursor."
    )

    _url = field_validator("url")(_http_url)


SourceConfig = Annotated[FolderSource | FeedSource | JsonSource, Field(discriminator="kind")]


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


def _duration_field(default: str, description: str) -> Any:
    return Field(default=default, description=description, pattern=r"^\s*\d+\s*[smhdw]\s*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

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

    # --- feeds ---
    feed_items: int = Field(default=50, ge=1, le=500, description="Entries per feed.")
    feed_full_text: bool = Field(
        default=True,
        description="Full article HTML in content:encoded / Atom content (summary stays in "
        "description / summary); false: summary only.",
    )
    feed_scopes: list[Literal["site", "sections", "popular"]] = Field(
        default=["site", "sections", "popular"],
        description="Which feeds to build: the whole site, one per section, most viewed.",
    )
    popular_window: str = _duration_field("24h", "Window of the most-viewed feed (e.g. 24h, 7d).")
    feed_ttl: int = Field(
        default=15, ge=0, le=1440, description="RSS <ttl> in minutes (0: omitted)."
    )
    feed_logo_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Absolute URL of the feed logo (RSS image, Atom logo, JSON icon).",
    )
    feed_description: str = Field(
        default="", description="Channel description (empty: derived from site_name)."
    )
    feeds_base_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Public URL of the feeds folder (empty: public_base_url + /feeds/).",
    )
    feed_tag_authority: str = Field(
        default="",
        description="Authority of entry tag URIs (empty: host of site_url). Never change it.",
    )
    feed_tag_date: str = Field(
        default="2026",
        pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
        description="Date of entry tag URIs (YYYY[-MM[-DD]]). Never change it.",
    )
    websub_hubs: list[str] = Field(
        default=[], description="WebSub hub URLs pinged after a feed changes (empty: none)."
    )

    @field_validator("websub_hubs")
    @classmethod
    def _hub_urls(cls, value: list[str]) -> list[str]:
        for i, url in enumerate(value):
            if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
                raise ValueError(f"[{i}]: {url!r} is not an absolute http(s) URL")
        return value

    # --- delivery ---
    smtp_pool_size: int = Field(
        default=8, ge=1, le=256, description="Persistent SMTP connections kept open by a drain."
    )
    smtp_connect_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to connect, greet, EHLO, STARTTLS and AUTH."
    )
    smtp_command_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for the reply to MAIL, RCPT or DATA."
    )
    smtp_data_timeout: float = Field(
        default=600.0,
        gt=0,
        description="Seconds to wait for the final reply after the message (RFC 5321: 10 min).",
    )
    delivery_return_path: str = Field(
        default="", description="Envelope sender (MAIL FROM); from_address if empty."
    )
    delivery_rate: float = Field(
        default=200.0, ge=0, description="Messages per second for the whole drain; 0 = no limit."
    )
    delivery_domain_limits: dict[str, DomainLimit] = Field(
        default_factory=lambda: {
            "naver.com": DomainLimit(rate=20, connections=4),
            "daum.net": DomainLimit(rate=10, connections=3),
            "hanmail.net": DomainLimit(rate=10, connections=3),
            "gmail.com": DomainLimit(rate=50, connections=8),
        },
        description="Per recipient-domain limits: {domain: {rate, connections}}.",
    )
    expiry_digest: str = _duration_field("24h", "A digest not delivered by then expires.")
    expiry_confirm: str = _duration_field("3d", "A confirmation not delivered by then expires.")
    expiry_share: str = _duration_field("1d", "A shared article not delivered by then expires.")
    expiry_test: str = _duration_field("1h", "A test send not delivered by then expires.")
    backoff_min: str = _duration_field("1m", "First retry delay after a temporary failure.")
    backoff_max: str = _duration_field("4h", "Longest retry delay (the delay grows ×4).")
    circuit_breaker_threshold: int = Field(
        default=5,
        ge=1,
        description="Policy/reputation replies (5.7.x, 4.7.x) among the last 50 that pause a run.",
    )
    lease_duration: str = _duration_field(
        "15m", "How long a claimed row stays leased; keep it above smtp_data_timeout."
    )
    mark_batch_size: int = Field(
        default=50, ge=1, le=1000, description="Sent marks committed together (duplicate bound)."
    )
    shutdown_grace: str = _duration_field(
        "30s", "On SIGTERM, how long in-flight messages may finish before being released."
    )

    # --- digests ---
    postal_address: str = Field(
        default="", description="Sender's postal address, shown in every digest footer."
    )
    list_id_domain: str = Field(
        default="", description="Domain part of List-Id (from_address's domain if empty)."
    )
    unsubscribe_mailto: str = Field(
        default="", description="mailto: unsubscribe address (unsubscribe@ from's domain if empty)."
    )
    dkim_selector: str = Field(default="", description="DKIM selector; signing is off if empty.")
    dkim_domain: str = Field(default="", description="DKIM d= domain (from's domain if empty).")
    dkim_private_key_file: str = Field(
        default="", description="PEM file of the DKIM private key; signing is off if empty."
    )
    html_size_budget: int = Field(
        default=100_000, ge=10_000, description="Max inlined HTML bytes (Gmail clips ~102 KB)."
    )

    # --- sources ---
    sources: list[SourceConfig] = Field(
        default=[], description="Polled sources of articles (folder, feed, json); see README."
    )
    collect_backoff_base: str = _duration_field(
        "1m", "Wait after a source's first failed poll; doubles with each further failure."
    )
    collect_backoff_max: str = _duration_field(
        "1h", "Longest wait between polls of a failing source."
    )
    source_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds an HTTP source may take to answer."
    )
    source_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest HTTP source response accepted."
    )

    # --- daemon ---
    leader_poll_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="How often an instance tries to take, or checks it holds, the scheduler lock.",
    )

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, value: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for i, source in enumerate(value):
            if source.name in seen:
                raise ValueError(f"[{i}]: duplicate source name {source.name!r}")
            seen.add(source.name)
        return value

    # --- web pages and API ---
    api_keys: list[str] = Field(
        default=[], description="Keys accepted in X-API-Key for /api (empty: operator API closed)."
    )
    cors_origin: str = Field(
        default="", description="Origin allowed by CORS for public endpoints (empty: site_url's)."
    )
    trust_forwarded_for: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For (behind a proxy)."
    )
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1", "::1"],
        description="Proxy addresses or networks whose X-Forwarded-For entries are believed.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024,
        description="Largest request body accepted by /api (forms and view hits have less).",
    )  # fmt: skip
    confirm_per_address_day: int = Field(
        default=3, ge=1, description="Confirmation emails per address per day."
    )
    subscribe_per_ip_hour: int = Field(
        default=20, ge=1, description="Subscribe form submissions per client IP per hour."
    )
    share_per_ip_hour: int = Field(default=5, ge=1, description="Shares per client IP per hour.")
    share_per_recipient_day: int = Field(
        default=3, ge=1, description="Shares to one recipient address per day."
    )
    share_site_day: int = Field(default=2000, ge=1, description="Shares per day, whole site.")
    share_min_seconds: int = Field(
        default=3, ge=0, description="Minimum seconds between showing the share form and submit."
    )
    views_per_ip_minute: int = Field(
        default=600, ge=1, description="POST /api/views and /v/{id}.gif per client IP per minute."
    )
    views_per_ip_article_hour: int = Field(
        default=3, ge=1, description="Views one client IP can add to one article per hour."
    )
    views_flush_seconds: int = Field(
        default=10, ge=1, description="How often buffered page views are written."
    )
    most_viewed_cache_seconds: int = Field(
        default=30, ge=0, description="How long GET /api/most-viewed answers are reused."
    )

    _urls = field_validator("site_url", "public_base_url")(_http_url)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    _addresses = field_validator(
        "from_address", "reply_to", "delivery_return_path", "unsubscribe_mailto"
    )(_address)

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

    @field_validator("feed_tag_date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        # The pattern checks the shape; a tag URI with month 13 is still invalid (RFC 4151).
        parts = [int(p) for p in value.split("-")]
        try:
            date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date: {exc}") from None
        return value

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

    def duration(self, name: str) -> timedelta:
        return parse_duration(str(getattr(self, name)))

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
_TAGGED_LISTS = frozenset({"sources"})
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
                if err["type"] == "extra_forbidden":
                    msg = "unknown setting" if len(err["loc"]) == 1 else "unknown key"
                problems.append(f"{where}: {_key_path(tuple(err['loc']))}: {msg}")
        finally:
            _READ_TOML.reset(token)
    if problems or settings is None:
        raise ConfigError(problems, schedules_file=_schedules_file(toml))
    return settings
