"""Search strategies behind one ask/tell interface (`base.Strategy`), registered by name and run by one
loop (`loop.run_search`) against an evaluator (`evaluators`): a benchmark query or real training."""

from __future__ import annotations

from proxynas.search import (  # noqa: F401  (registers)
    darts, evolution, guided, local_search, random_search, reinforce, zc_pt)
from proxynas.search.base import (SpaceExhausted, Strategy, get_strategy, get_strategy_class, register_strategy,
                                  strategy_names)
from proxynas.search.evaluators import Evaluator, TabularEvaluator, TrainingEvaluator
from proxynas.search.loop import SearchResult, run_search
from proxynas.search.setup import SearchSetup

__all__ = ["Strategy", "SpaceExhausted", "get_strategy", "get_strategy_class", "register_strategy", "strategy_names",
           "Evaluator", "TabularEvaluator", "TrainingEvaluator", "SearchResult", "run_search", "SearchSetup"]
