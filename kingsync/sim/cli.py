"""``kingsync-sim``: serve simulated OpenStack regions until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from kingsync.sim.cloud import SimCloud


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kingsync-sim",
        description="Serve a shared Keystone and N simulated OpenStack regions "
        "(Nova, Glance, Neutron, Cinder) over HTTP on loopback.",
    )
    parser.add_argument(
        "--regions", type=int, default=3, metavar="N", help="number of regions: RegionOne, RegionTwo, ... (default 3)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=8800,
        help="Keystone and the control API listen here, region i on PORT+i; 0 picks free ports (default 8800)",
    )
    parser.add_argument(
        "--clouds-yaml",
        metavar="FILE",
        help="write a clouds.yaml with clouds kingsync-sim-admin, kingsync-sim-member "
        "and kingsync-sim-member2 to FILE once listening",
    )
    parser.add_argument(
        "--projects", type=int, default=0, metavar="N", help="create N extra projects (sim-00000 ...) for scale tests"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency for every region's services, in milliseconds"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="uniform random extra latency on top of --latency-ms"
    )
    parser.add_argument(
        "--state-file", metavar="FILE", help="load state from FILE at start if it exists, save it there at exit"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="where image data is kept (default: a temporary directory removed at exit)"
    )
    parser.add_argument("--seed", type=int, help="seed for latency jitter and injected faults")
    parser.add_argument("--debug", action="store_true", help="log every request")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    cloud = SimCloud(
        regions=args.regions,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        state_file=args.state_file,
        seed=args.seed,
    )
    for index in range(args.projects):
        name = "sim-%05d" % index
        if cloud.identity.project_id_by_name(name) is None:
            cloud.identity.create_project(name)
    for region in cloud.regions.values():
        region.faults.update({"latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms})
    await cloud.start()
    if args.clouds_yaml:
        cloud.write_clouds_yaml(args.clouds_yaml)
    print("kingsync-sim: identity %s" % cloud.auth_url, flush=True)
    for region in cloud.regions.values():
        print("kingsync-sim: %s %s" % (region.name, region.url), flush=True)
    if args.clouds_yaml:
        print("kingsync-sim: clouds.yaml written to %s" % args.clouds_yaml, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await cloud.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print("kingsync-sim: cannot listen: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
