"""The NAS engine: Pareto front and hypervolume, the CE-NAS search (LaMOO partitioning, MCTS/UCB region
selection, the sampling and evaluation pools), its serialisable state, and the NAS simulation and
benchmark (`python -m cenas_operator.search benchmark`). docs/SEARCH.md describes all of it.

The operator imports `engine` and `pareto` only (numpy: the LaMOO SVM is `svm.py`, not scikit-learn); the simulation
modules add scipy (the supernet model) and the benchmark reads traces through `cenas_operator.policy`.
"""

from .engine import FittedTree, Search, SearchConfig, Space, StateError
from .lamoo import Tree, TreeConfig
from .pareto import domination_counts, hypervolume, nondominated_ranks, pareto_mask, to_max

__all__ = [
    "FittedTree",
    "Search",
    "SearchConfig",
    "Space",
    "StateError",
    "Tree",
    "TreeConfig",
    "domination_counts",
    "hypervolume",
    "nondominated_ranks",
    "pareto_mask",
    "to_max",
]
