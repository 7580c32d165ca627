"""The library's defaults, one per purpose, in a module that imports nothing (the CLI shows them at start-up)."""

# Proxies scored, correlated and voted on when none are named: one data-free, one gradient, one Jacobian proxy.
SCORE_PROXIES = ("synflow", "grad_norm", "jacob_cov")
# The surrogate's zc features: the Suite-Zero set without the slow or weak ones (grasp, fisher, plain, epe_nas, zen).
SURROGATE_PROXIES = ("synflow", "grad_norm", "snip", "jacob_cov", "nwot", "l2_norm", "params", "flops")
# The guided search's candidate scores: data-free and fast, so a cold search stays in minutes.
GUIDED_PROXIES = ("synflow", "params", "flops")
# Where the guided search's proxies come from when neither proxies nor a source is named, per space (else
# the engine computes GUIDED_PROXIES): TransNAS-Bench-101 networks take 256-pixel inputs, about a second per
# cell and proxy on a laptop CPU, and its benchmark holds zen for every cell.
GUIDED_SOURCE = {"tnb101": ("zen", ("zen",))}
