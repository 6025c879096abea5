"""``ebpf export CONFIG.yaml [CONFIG...] [--listen HOST:PORT] [--backend kernel|vm]``:
serve ebpf_exporter-format configs as Prometheus metrics on ``/metrics``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from ..errors import ConfigError, Error

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9435"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[V6]:PORT`` too; port 0 picks a free one)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"bad --listen {text!r}: expected HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="serve ebpf_exporter configs as Prometheus metrics",
        description="Load Cloudflare ebpf_exporter (v2) configs (NAME.yaml beside "
                    "NAME.bpf.o, or NAME.bpf.c compiled on the fly), attach their programs "
                    "and serve their maps as OpenMetrics on /metrics until SIGTERM/SIGINT. "
                    "A config that fails is reported and skipped.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG.yaml", help="config files")
    p.add_argument("--listen", type=parse_listen, default=parse_listen(DEFAULT_LISTEN),
                   metavar="HOST:PORT", help=f"where to serve /metrics (default {DEFAULT_LISTEN})")
    p.add_argument("--backend", choices=("kernel", "vm"),
                   help="kernel (load and attach; the default, also without privileges: "
                        "an exporter must not silently export nothing) or vm (load and "
                        "render only: a dry run without root); EBPF_BACKEND sets the default")
    p.add_argument("--prefill", metavar="FILE",
                   help="YAML/JSON map contents to write after load (config -> map -> rows)")
    p.add_argument("--max-series", type=int, default=None, metavar="N",
                   help="series one metric may export; more are dropped and counted "
                        "(default 50000, 0: no limit)")
    p.add_argument("--once", action="store_true",
                   help="print one scrape (OpenMetrics) on stdout and exit; exit 1 if a "
                        "config failed")
    p.add_argument("--verify", choices=("warn", "strict", "off"), default="warn",
                   help="vm backend: check every program with ebpf's own verifier; a "
                        "rejection is a warning (default) or fails the config (strict)")
    p.add_argument("--cc", help="compiler for configs that have only NAME.bpf.c")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import Exporter, load_prefill
    from ..export.exporter import DEFAULT_MAX_SERIES

    prefill = load_prefill(args.prefill) if args.prefill else None
    max_series = DEFAULT_MAX_SERIES if args.max_series is None else args.max_series
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM,
                                                                   signal.SIGINT)}
    try:
        backend = args.backend or os.environ.get("EBPF_BACKEND") or "kernel"
        with Exporter(args.configs, backend=backend, max_series=max_series,
                      prefill=prefill, cc=args.cc, verify=args.verify) as exp:
            if args.once:
                sys.stdout.write(exp.render().decode())
                sys.stdout.flush()
                return 1 if exp.failed else 0
            if not exp.running:
                raise ConfigError("no config could be loaded; nothing to serve")
            try:
                host, port = exp.serve(*args.listen)
            except OSError as e:
                raise Error(f"cannot listen on {args.listen[0]}:{args.listen[1]}: "
                            f"{e.strerror or e}") from None
            print(f"ebpf export: {len(exp.running)} config(s) "
                  f"({', '.join(exp.running)}) on {exp.backend}; serving "
                  f"http://{host}:{port}/metrics", file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
            print("ebpf export: stopping (detaching programs)", file=sys.stderr, flush=True)
        return 0
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
