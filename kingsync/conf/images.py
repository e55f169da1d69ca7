"""[images]: how the engine copies image data between regions."""

from __future__ import annotations

from oslo_config import cfg

GROUP = cfg.OptGroup("images", title="Image sync", help="How kingsync-engine copies images between regions.")

OPTS = [
    cfg.BoolOpt(
        "glance_download",
        default=True,
        help="Where a target region's Glance offers the glance-download import method (GET "
        "/v2/info/import), have it pull the image from the source region itself, so no image byte "
        "passes through the engine. False: always stream the data through the engine.",
    ),
    cfg.StrOpt(
        "glance_download_interface",
        default="public",
        help="The catalog interface of the source Glance that a target Glance pulls from "
        "(glance_service_interface of the import call): an interface the target's glance-api "
        "hosts can reach.",
    ),
    cfg.FloatOpt(
        "import_timeout",
        default=3600.0,
        min=1.0,
        help="Seconds a glance-download import may take before the item fails (the image stays "
        "hidden and queued in the target, and the next sync of it imports again).",
    ),
    cfg.FloatOpt(
        "import_poll_interval",
        default=2.0,
        min=0.05,
        help="Most seconds between looks at a running glance-download import (kingsync looks at once, "
        "again after 0.1 s, then each time after twice as long, up to this).",
    ),
    cfg.IntOpt(
        "chunk_kib",
        default=1024,
        min=64,
        help="Size of the chunks an image is streamed in, in KiB, when its data passes through the engine.",
    ),
    cfg.IntOpt(
        "buffer_chunks",
        default=4,
        min=1,
        help="Chunks held for each target, at most, while streaming: the engine's memory for one "
        "transfer is about chunk_kib x (buffer_chunks + 1) per target, whatever the image's size.",
    ),
    cfg.FloatOpt(
        "stall_timeout",
        default=300.0,
        min=1.0,
        help="Seconds a target may take no data while streaming before it is dropped (its item is "
        "retried later); the other targets go on.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
