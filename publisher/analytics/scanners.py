"""The link-scanner list: User-Agent fragments and address ranges of mail security scanners.

The list ships as ``scanners.txt`` beside this module (documented there); the setting
``link_scanners_file`` replaces it with an operator's copy.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from publisher.core.errors import InputError
from publisher.intake.pagehits import is_bot

SHIPPED = Path(__file__).with_name("scanners.txt")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, eq=False)
class Scanners:
    agents: re.Pattern[str] | None
    networks: tuple[Network, ...]
    # Per list, caches keyed by the string alone (a key holding this object would be one
    # more object per User-Agent for the garbage collector to walk: counting.py).
    _agent: Callable[[str], bool] = field(init=False, repr=False)
    _v6: Callable[[str], bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_agent", lru_cache(maxsize=8192)(self._agent_is_machine))
        object.__setattr__(self, "_v6", lru_cache(maxsize=8192)(self._v6_is_scanner))

    @classmethod
    def load(cls, path: Path | None = None) -> Scanners:
        """The list at ``path`` (default: the shipped one); InputError names a bad line."""
        where = path or SHIPPED
        field = "link_scanners_file"
        try:
            text = where.read_text("utf-8")
        except (OSError, UnicodeError) as exc:
            raise InputError(field, f"cannot read {where}: {exc}") from None
        return cls.parse(text, where=str(where))

    @classmethod
    def parse(cls, text: str, *, where: str = "scanners") -> Scanners:
        agents: list[str] = []
        networks: list[Network] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            kind, _, value = (p.strip() for p in line.partition(":"))
            if kind == "agent" and value:
                agents.append(re.escape(value))
            elif kind == "network" and value:
                try:
                    networks.append(ipaddress.ip_network(value, strict=False))
                except ValueError:
                    raise InputError(
                        "link_scanners_file", f"{where}:{number}: bad network"
                    ) from None
            else:
                raise InputError("link_scanners_file", f"{where}:{number}: not agent: or network:")
        pattern = re.compile("|".join(agents), re.IGNORECASE) if agents else None
        return cls(pattern, tuple(networks))

    @property
    def v4(self) -> tuple[tuple[int, int], ...]:
        """The IPv4 networks as (network, mask) integers."""
        found: tuple[tuple[int, int], ...] | None = self.__dict__.get("_v4")
        if found is None:
            found = tuple(
                (int(n.network_address), int(n.netmask))
                for n in self.networks
                if isinstance(n, ipaddress.IPv4Network)
            )
            object.__setattr__(self, "_v4", found)
        return found

    def agent_is_machine(self, user_agent: str) -> bool:
        return self._agent(user_agent)  # user agents repeat a lot

    def address_is_scanner(self, address: str) -> bool:
        if not self.networks:
            return False
        if ":" not in address:  # IPv4, the common case: integer compares, no parsing objects
            try:
                number = int.from_bytes(socket.inet_aton(address), "big")
            except OSError:
                return False
            return any(number & mask == net for net, mask in self.v4)
        return self._v6(address)

    def _agent_is_machine(self, user_agent: str) -> bool:
        if is_bot(user_agent):
            return True
        return self.agents is not None and self.agents.search(user_agent) is not None

    def _v6_is_scanner(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("/")[0])
        except ValueError:
            return False
        return any(ip in n for n in self.networks if n.version == ip.version)
