"""[api]: the REST API service."""

from __future__ import annotations

from oslo_config import cfg

GROUP = cfg.OptGroup("api", title="API service", help="How kingsync-api listens and authenticates.")

OPTS = [
    cfg.HostAddressOpt(
        "bind_host",
        default="127.0.0.1",
        help="Address kingsync-api listens on when run as its own command "
        "(under uWSGI or gunicorn, their own settings decide).",
    ),
    cfg.PortOpt(
        "bind_port",
        default=8118,
        help="Port kingsync-api listens on when run as its own command. 8118 is Kingbird's port, "
        "so clients configured for Kingbird find kingsync there.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "Validate Keystone tokens with keystonemiddleware (the [keystone_authtoken] group)."),
            (
                "noauth",
                "No authentication: X-User-Id, X-Project-Id and X-Roles headers are trusted as sent. "
                "For local use only, never on a network anyone else can reach.",
            ),
        ],
        help="How API requests are authenticated.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=1024 * 1024,
        min=1024,
        help="Largest request body accepted, in bytes; larger ones get 413.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
