"""proxynas: training-free neural architecture search over NAS benchmarks."""
__version__ = "0.1.0"
