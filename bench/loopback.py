"""The benchmarks' guard: they put load only on this machine."""

from __future__ import annotations

import ipaddress
import socket
import sys


def loopback_only(host: str) -> None:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        sys.exit(f"cannot resolve {host}: {exc}")
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        sys.exit(f"refusing to load {host}: this benchmark only targets loopback addresses")
