"""Prometheus/OpenMetrics exporter running Cloudflare ebpf_exporter (v2) configs.

``ebpf export NAME.yaml...`` (see docs/export.md) or, from Python::

    from ebpf.export import Exporter
    with Exporter(["syscount.yaml"]) as exp:
        exp.serve("127.0.0.1", 9435)      # /metrics until close()

``prometheus_client`` and PyYAML are imported only when an exporter is used.
"""

from __future__ import annotations

from .config import Config, Decoder, Label, Metric, load_config, parse_config
from .decoders import DecoderSet
from .exporter import NAMESPACE, Exporter
from .prefill import load_prefill

__all__ = ["NAMESPACE", "Config", "Decoder", "DecoderSet", "Exporter", "Label", "Metric",
           "load_config", "load_prefill", "parse_config"]
