"""Server settings from flags and the original's ``COLONIES_*`` environment (protocol §8.1)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: The documented public development keys (protocol §8.1). Never use them outside a dev server.
DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
DEV_COLONY_PRVKEY = "ba949fa134981372d6da62b6a56f336ab4d843b22c02a4257dcf7d0d73097514"
DEV_PRVKEY = "ddf7f7791208083b6a9ed975a72684f6406a269cfa36f1b1c32045c0a71fff05"
DEV_COLONY_NAME = "dev"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def env_list(name: str) -> list[str]:
    """A comma-separated variable as a list, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def default_data_dir() -> str:
    """``COLONIES_DATA_DIR``, else ``$XDG_DATA_HOME/colonies`` (``~/.local/share/colonies``)."""
    if os.environ.get("COLONIES_DATA_DIR"):
        return os.environ["COLONIES_DATA_DIR"]
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "colonies")


def default_db_url() -> str:
    """``COLONIES_DB_URL``; else a PostgreSQL URL from the Go server's ``COLONIES_DB_HOST/_PORT/_USER/_PASSWORD``
    (and ``COLONIES_DB_NAME``, default ``postgres`` as there); else a SQLite file in the data directory."""
    if os.environ.get("COLONIES_DB_URL"):
        return os.environ["COLONIES_DB_URL"]
    host = os.environ.get("COLONIES_DB_HOST", "")
    if host and os.environ.get("COLONIES_DB_TYPE", "postgresql").lower() in ("postgresql", "postgres"):
        from urllib.parse import quote

        user = quote(os.environ.get("COLONIES_DB_USER", "postgres"), safe="")
        password = os.environ.get("COLONIES_DB_PASSWORD", "")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        port = os.environ.get("COLONIES_DB_PORT", "5432")
        name = os.environ.get("COLONIES_DB_NAME", "postgres")
        return f"postgresql://{auth}@{host}:{port}/{name}"
    return "sqlite:///" + os.path.join(default_data_dir(), "colonies.db")


@dataclass
class Settings:
    host: str = "0.0.0.0"
    port: int = 50080
    db_url: str = field(default_factory=default_db_url)
    #: Server owner id; if empty, the one stored in the database is kept.
    server_id: str = ""
    #: Request bodies above this are refused with 413 before they are read into memory.
    max_body_bytes: int = 16 * 1024 * 1024
    #: Longest assign long-poll and WebSocket subscription a client may ask for, in seconds.
    max_wait_timeout: int = 600
    #: How often timeouts (maxexectime, maxwaittime) are checked, in seconds.
    timeout_check_period: float = 0.5
    #: An idle long-poll re-checks the queue this often even without a wake-up, in seconds.
    assign_poll_interval: float = 5.0
    max_workflow_nodes: int = 10_000
    #: Longest log line (addlogmsg, addexecutorlogmsg), in bytes of UTF-8.
    max_log_bytes: int = 1024 * 1024
    #: A client must send its whole request body within this many seconds (a slow client cannot hold a worker).
    read_timeout: float = 30.0
    #: Replay protection: a request nonce is accepted only this many seconds either side of the server's clock,
    #: and remembered that long.
    replay_window: int = 300
    build_version: str = field(default_factory=lambda: os.environ.get("BUILD_VERSION", "dev"))
    build_time: str = field(default_factory=lambda: os.environ.get("BUILD_TIME", ""))
    #: PEM certificate (chain) and private key: with both, the port serves HTTPS and WSS only.
    tls_cert: str = ""
    tls_key: str = ""
    #: Every message but a workflow submission must fit in this many bytes (decoding is costly; see security.md).
    max_message_bytes: int = 4 * 1024 * 1024
    #: JSON objects and arrays in one payload (what parsing costs grows with), counted before parsing.
    max_json_containers: int = 200_000
    #: Dependencies (edges) in one workflow, summed over its nodes.
    max_workflow_edges: int = 50_000
    #: A nonce may be dated at most this many seconds after the server's clock.
    max_clock_skew: int = 30
    #: Web origins (``https://dash.example.org``) whose pages may call ``/api`` and ``/pubsub`` from a browser;
    #: empty = same origin only. ``*`` allows every origin: only for a server whose keys are all secret.
    cors_origins: list[str] = field(default_factory=list)
    #: Subscriptions one /pubsub WebSocket may hold at once.
    max_subscriptions_per_socket: int = 64
    #: A client must send a request's headers within this many seconds of connecting (or of its first byte).
    header_timeout: float = 10.0
    #: An idle keep-alive connection is closed after this many seconds.
    idle_timeout: float = 15.0
    #: Open sockets in all, and from one client address; over either, a new socket is closed at once.
    max_connections: int = 1000
    max_connections_per_address: int = 250
    #: Bearer token for GET /metrics; empty = the endpoint is off.
    metrics_token: str = ""
    #: The gauges of /metrics are recounted at most this often (seconds).
    metrics_interval: float = 15.0
    #: IANA time zone cron expressions are evaluated in (``COLONIES_CRON_TZ``); UTC by default, whatever the
    #: host's zone, so replicas in different zones agree.
    cron_tz: str = "UTC"
    #: The cron loop sleeps until the next run, but never longer than this (ms): crons added on another replica
    #: are picked up within it. Reported as ``checkerperiod``.
    cron_checker_period: int = 1000
    #: Generators are checked this often (ms; packs on this server wake the check sooner).
    generator_checker_period: int = 1000
    #: Channels (v1.9, the Go server's limits): largest payload of one entry in bytes, entries per channel, and
    #: appends per process per second (sustained) with bursts up to ``channel_burst``, counted over all replicas.
    channel_max_payload_bytes: int = 10 * 1024 * 1024
    channel_max_entries: int = 10_000
    channel_rate: float = 100.0
    channel_burst: int = 500
    #: "current", or "1.7.8": answer as the original v1.7.8 server does (a test aid; see server/generations.py).
    wire_generation: str = "current"

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        settings = cls(
            host=os.environ.get("COLONIES_SERVER_HOST_BIND", "0.0.0.0"),
            port=env_int("COLONIES_SERVER_HTTP_PORT", env_int("COLONIES_SERVER_PORT", 50080)),
            db_url=default_db_url(),
            server_id=os.environ.get("COLONIES_SERVER_ID", ""),
            max_body_bytes=env_int("COLONIES_MAX_BODY_BYTES", 16 * 1024 * 1024),
            max_wait_timeout=env_int("COLONIES_MAX_WAIT_TIMEOUT", 600),
            max_workflow_nodes=env_int("COLONIES_MAX_WORKFLOW_NODES", 10_000),
            max_log_bytes=env_int("COLONIES_MAX_LOG_BYTES", 1024 * 1024),
            read_timeout=float(env_int("COLONIES_READ_TIMEOUT", 30)),
            replay_window=env_int("COLONIES_REPLAY_WINDOW", 300),
            tls_cert=os.environ.get("COLONIES_TLS_CERT", "").strip(),
            tls_key=os.environ.get("COLONIES_TLS_KEY", "").strip(),
            max_message_bytes=env_int("COLONIES_MAX_MESSAGE_BYTES", 4 * 1024 * 1024),
            max_json_containers=env_int("COLONIES_MAX_JSON_CONTAINERS", 200_000),
            max_workflow_edges=env_int("COLONIES_MAX_WORKFLOW_EDGES", 50_000),
            max_clock_skew=env_int("COLONIES_MAX_CLOCK_SKEW", 30),
            cors_origins=env_list("COLONIES_CORS_ORIGINS"),
            max_subscriptions_per_socket=env_int("COLONIES_MAX_SUBSCRIPTIONS_PER_SOCKET", 64),
            header_timeout=float(env_int("COLONIES_HEADER_TIMEOUT", 10)),
            idle_timeout=float(env_int("COLONIES_IDLE_TIMEOUT", 15)),
            max_connections=env_int("COLONIES_MAX_CONNECTIONS", 1000),
            max_connections_per_address=env_int("COLONIES_MAX_CONNECTIONS_PER_ADDRESS", 250),
            metrics_token=os.environ.get("COLONIES_METRICS_TOKEN", "").strip(),
            metrics_interval=float(os.environ.get("COLONIES_METRICS_INTERVAL", "").strip() or 15),
            cron_tz=os.environ.get("COLONIES_CRON_TZ", "").strip() or "UTC",
            cron_checker_period=env_int("COLONIES_CRON_CHECKER_PERIOD", 1000),
            generator_checker_period=env_int("COLONIES_GENERATOR_CHECKER_PERIOD", 1000),
            channel_max_payload_bytes=env_int("COLONIES_CHANNEL_MAX_PAYLOAD_BYTES", 10 * 1024 * 1024),
            channel_max_entries=env_int("COLONIES_CHANNEL_MAX_ENTRIES", 10_000),
            channel_rate=float(os.environ.get("COLONIES_CHANNEL_RATE", "").strip() or 100),
            channel_burst=env_int("COLONIES_CHANNEL_BURST", 500),
            wire_generation=os.environ.get("COLONIES_WIRE_GENERATION", "").strip() or "current",
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings
