"""Pod addresses: a /24 per node (kube-controller-manager's node IPAM) and pod IPs within it (the CNI).

The cluster CIDR 10.224.0.0/11 holds 8,192 node subnets, enough for the 5,000-node limit; handing
them out from 10.244.0.0/24 on makes small clusters look like kind's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

CLUSTER_CIDR = ipaddress.ip_network("10.224.0.0/11")
_SUBNETS = 1 << (24 - CLUSTER_CIDR.prefixlen)
_FIRST = (int(ipaddress.ip_address("10.244.0.0")) - int(CLUSTER_CIDR.network_address)) >> 8


class PodCIDRs:
    """Node subnets in use, and the next one to hand out."""

    def __init__(self) -> None:
        self._used: set[int] = set()
        self._next = _FIRST

    @staticmethod
    def _index(cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != 4 or not net.subnet_of(CLUSTER_CIDR):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(CLUSTER_CIDR.network_address)) >> 8

    def claim(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._used.add(index)

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._used.discard(index)

    def allocate(self) -> str:
        for step in range(_SUBNETS):
            index = (self._next + step) % _SUBNETS
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % _SUBNETS
                base = int(CLUSTER_CIDR.network_address) + (index << 8)
                return f"{ipaddress.ip_address(base)}/24"
        raise RuntimeError("the cluster CIDR has no free node subnet")


class NodeAddresses:
    """Pod IPs of one node: .2 upwards in its subnet (.1 is the bridge), reused once released."""

    def __init__(self, cidr: str, in_use: Iterable[str] = ()) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        self._base = int(net.network_address)
        self._v4 = net.version == 4
        self._last = net.num_addresses - 2  # below the broadcast address
        self._used: set[int] = set()
        self._next = 2
        for ip in in_use:
            self._mark(ip, True)

    def _offset(self, ip: str) -> int | None:
        try:
            offset = int(ipaddress.ip_address(ip)) - self._base
        except ValueError:
            return None
        return offset if 2 <= offset <= self._last else None

    def _mark(self, ip: str, used: bool) -> None:
        offset = self._offset(ip)
        if offset is None:
            return
        if used:
            self._used.add(offset)
        else:
            self._used.discard(offset)

    def allocate(self) -> str:
        span = self._last - 1
        for step in range(span):
            offset = 2 + (self._next - 2 + step) % span
            if offset not in self._used:
                break
        else:
            offset = self._next  # full: a real CNI would fail; sharing an address keeps pods running
        self._used.add(offset)
        self._next = offset + 1 if offset < self._last else 2
        n = self._base + offset
        if self._v4:  # a pod IP per pod started: formatted directly
            return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        return str(ipaddress.ip_address(n))

    def release(self, ip: str) -> None:
        self._mark(ip, False)
