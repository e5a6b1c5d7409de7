"""A bandwidth-limited link on this machine for benches: a network namespace joined to the host
by a veth pair on a private /30, shaped with ``tc tbf`` in both directions.

The host end gets ``.1`` and a server bound there is reached from the namespace (``.2``)
through the veth, and from the host itself over loopback (a local address): the same server
serves both. Nothing is routed beyond the pair. Needs root (``ip``, ``tc``, ``nsenter``).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

# Rates of the named links; "loopback" is no veth at all (host to a local address).
RATES = {"loopback": None, "veth": None, "1gbit": "1gbit", "100mbit": "100mbit"}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _rate_bits(rate: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)bit", rate).groups()
    return int(number) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[unit]


class Link:
    """``up()`` creates the namespace and the pair, ``shape(rate)`` (re)sets both directions'
    qdisc, ``counters()`` reads the host end's byte counters, ``down()`` removes it all."""

    def __init__(self, tag: int | None = None) -> None:
        tag = os.getpid() if tag is None else tag
        self.netns = f"qsbench-{tag}"
        self.host_dev = f"qsb{tag % 100000}h"
        self.ns_dev = f"qsb{tag % 100000}n"
        # 10.231.0.0/16 is used nowhere else on this machine; one /30 per bench process.
        self.subnet = f"10.231.{tag % 256}.0/30"
        self.host_ip = f"10.231.{tag % 256}.1"
        self.ns_ip = f"10.231.{tag % 256}.2"
        self.rate: str | None = None
        self._created = False

    @property
    def enter(self) -> list[str]:
        """Command prefix that runs a program inside the namespace (network only)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}"]

    def up(self) -> Link:
        _ip("netns", "add", self.netns)
        self._created = True
        _ip("link", "add", self.host_dev, "type", "veth", "peer", "name", self.ns_dev)
        _ip("link", "set", self.ns_dev, "netns", self.netns)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_dev)
        _ip("link", "set", self.host_dev, "up")
        ns = ["-n", self.netns]
        _ip(*ns, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_dev)
        _ip(*ns, "link", "set", self.ns_dev, "up")
        _ip(*ns, "link", "set", "lo", "up")
        # No IPv6 on the pair: router solicitations and the like would count as wire bytes.
        for prefix, dev in (([], self.host_dev), (self.enter, self.ns_dev)):
            subprocess.run(
                [*prefix, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"],
                capture_output=True,
            )
        return self

    def shape(self, rate: str | None) -> None:
        """Token bucket on each end's egress (so both directions) at ``rate``; None: unshaped.
        The bucket holds 4 ms of the rate (at least 64 KiB: a GSO packet of the veth), the
        queue 20 ms: a switch port's buffer, not a bufferbloated one."""
        for dev in (self.host_dev, self.ns_dev):
            prefix = self.enter if dev == self.ns_dev else []
            subprocess.run([*prefix, "tc", "qdisc", "del", "dev", dev, "root"], capture_output=True)
            if rate is None:
                continue
            burst = max(64 * 1024, _rate_bits(rate) // 8 * 4 // 1000)
            subprocess.run(
                [*prefix, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
                 "burst", str(burst), "latency", "20ms"],
                check=True,
                capture_output=True,
            )  # fmt: skip
        self.rate = rate

    def counters(self) -> int:
        """Bytes received plus sent by the host end so far (Ethernet frames: headers count)."""
        stats = Path("/sys/class/net") / self.host_dev / "statistics"
        return sum(int((stats / name).read_text()) for name in ("rx_bytes", "tx_bytes"))

    def down(self) -> None:
        if not self._created:
            return
        # Deleting one end deletes its peer; the namespace goes once nothing runs in it.
        subprocess.run(["ip", "link", "del", self.host_dev], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        self._created = False
