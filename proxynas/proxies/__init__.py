"""Zero-cost proxies: a registry of small functions of a `Probe` (network + batch + shared passes).

Output convention: higher = predicted better, except where a proxy's docstring says it keeps the
original sign (plain, grasp).
"""

from proxynas.proxies import counting, gradient, grasp, jacobian, nwot, synflow, zen  # noqa: F401  (registers)
from proxynas.proxies.probe import Probe
from proxynas.proxies.registry import Proxy, ScoreFailure, get, names, parse_list

__all__ = ["Probe", "Proxy", "ScoreFailure", "get", "names", "parse_list"]
