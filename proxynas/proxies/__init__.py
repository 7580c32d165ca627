"""Zero-cost proxies: a registry of small functions of a `Probe` (network + batch + shared passes).

Each proxy keeps its original sign and registers its published direction (`higher_is_better`:
False for plain), which rank votes honour, and whether models should see it log-scaled.
"""

from proxynas.proxies import (  # noqa: F401  (registers)
    az_nas, counting, gradient, gradsign, grasp, jacobian, meco, nwot, swap, synflow, te_nas, vkdnw, zen, zico)
from proxynas.proxies.probe import Probe
from proxynas.proxies.registry import Proxy, ScoreFailure, get, names, parse_list, register, register_product

__all__ = ["Probe", "Proxy", "ScoreFailure", "get", "names", "parse_list", "register", "register_product",
           "directions"]


def directions(proxy_names) -> list[bool]:
    """`higher_is_better` of each named proxy (True for names that are not registered proxies)."""
    registered = set(names())
    return [get(n).higher_is_better if n in registered else True for n in proxy_names]
