"""The CE-NAS search as a serialisable state machine, shared by the operator and the simulation.

Two pools feed it:

- the sampling pool asks `propose(k)` for cells to score with the supernet, drawn from the region the LaMOO
  tree selects, and returns their predicted accuracy with `add_predictions`; scored cells wait in the
  queue;
- the evaluation pool takes `pop_queue()` candidates and returns their true accuracy with `add_result`.
  The next candidate is the queued cell of the currently selected region (widening to the parent region,
  up to the whole space, when it holds none) with the best dominance rank on estimated objectives (the
  supernet's score, corrected by the results so far once there are enough: predictor.py), ranked
  against the fully trained cells (true accuracy) and the cells in training (their estimate). Half-
  finished trainings belong to the caller (suspended NASTrials, the simulator) and resume before anything
  new is popped.

The tree learns from the full-training results (config.tree_samples): a weak supernet can then only
re-order candidates inside a region, never mislead the partition. A search without a supernet (vanilla)
calls `propose(k, train=True)` and trains the proposals directly: that is LaMOO itself.

Every observation (prediction or result) is appended to a log; the tree is a pure function of a prefix
of that log, so `to_state()` / `from_state()` round-trip through JSON and a restored search makes exactly
the decisions the original would have made.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from cenas_spaces import Arch, Macro, all_archs, encode_onehot, encode_unit, from_index, network_cost

from .lamoo import Node, Tree, TreeConfig
from .pareto import candidate_fronts, hypervolume, nondominated_ranks, pareto_mask, to_max
from .predictor import AccuracyModel, fit, graph_features

STATE_VERSION = 1
Sampler = Literal["lamoo", "random"]
TreeSamples = Literal["results", "all"]
Predictor = Literal["ridge", "supernet"]
PredictorFeatures = Literal["onehot", "graph"]
Proposal = Literal["random", "estimate"]

UNSEEN, PROPOSED, SCORED, TRAINING, TRAINED = range(5)
STATUS_NAMES = ("unseen", "proposed", "queued", "training", "trained")
PREDICTED, TRUE = 0, 1


class StateError(ValueError):
    """A serialised search state that does not fit this space or this version."""


@dataclass(frozen=True)
class FittedTree:
    """A search's LaMOO tree with its cached region masks, and what it was built from."""

    identity: tuple  # space, config, seed and the observation prefix (Search._tree_identity)
    tree: Tree
    regions: dict[tuple[int, ...], np.ndarray]


@dataclass(frozen=True)
class Space:
    """The cells a search may visit: cenas_spaces index, LaMOO encoding and cost of each row."""

    index: np.ndarray  # (n,) int64
    encoding: np.ndarray  # (n, 6)
    cost: np.ndarray  # (n,) the minimised objective (params M or FLOPs M)

    def __post_init__(self) -> None:
        n = len(self.index)
        if self.encoding.shape != (n, 6) or self.cost.shape != (n,):
            raise ValueError("index, encoding and cost must describe the same rows")
        if n < 2:
            raise ValueError("a search space needs at least 2 cells")

    def __len__(self) -> int:
        return len(self.index)

    def arch(self, row: int) -> Arch:
        return from_index(int(self.index[row]))

    @functools.cached_property  # built once: the accuracy model reads it for every candidate
    def features(self) -> np.ndarray:
        """(n, 30) one-hot operation per edge of every row (cenas_spaces.encode_onehot)."""
        return np.array([encode_onehot(from_index(int(i))) for i in self.index], dtype=np.uint8)  # 0.5 MB

    @functools.cached_property  # built once, for searches that ask for it (SearchConfig.predictor_features)
    def graph_features(self) -> np.ndarray:
        """(n, 45) predictor.graph_features of every row."""
        return graph_features(self.features)

    @functools.cached_property  # hashed once: every saved state names its space
    def checksum(self) -> str:
        h = hashlib.sha256(np.ascontiguousarray(self.index, dtype="<i8").tobytes())
        h.update(np.ascontiguousarray(np.round(self.cost, 6), dtype="<f8").tobytes())
        return h.hexdigest()[:16]

    @classmethod
    def nb201(cls, cost_metric: str = "params", macro: Macro | None = None) -> Space:
        """All 15,625 NB201 cells; row == cenas_spaces index (the operator's space)."""
        if cost_metric not in ("params", "flops"):
            raise ValueError(f"cost metric must be params or flops, got {cost_metric!r}")
        archs = list(all_archs())
        costs = [network_cost(a, macro) for a in archs]
        cost = np.array([c.params_millions if cost_metric == "params" else c.flops_millions for c in costs])
        return cls(np.arange(len(archs), dtype=np.int64), np.array([encode_unit(a) for a in archs]), cost)


@dataclass(frozen=True)
class SearchConfig:
    sampler: Sampler = "lamoo"
    """lamoo: sample from the region the LaMOO tree selects; random: uniform over unseen cells."""
    initial_samples: int = 10
    """Uniformly random proposals before the first tree (CE-NAS: 10)."""
    tree_samples: TreeSamples = "results"
    """What the tree learns from. results: the fully trained cells (true accuracy) once there are
    `initial_samples` of them, every observed cell before; all: trained and scored cells alike (the
    prediction standing in for accuracy)."""
    accuracy_ref: float = 0.0
    """Reference accuracy of the search's own hypervolume (status)."""
    cost_ref_margin: float = 0.01
    """The reference cost is the space's largest cost plus this fraction of its range."""
    max_tree_samples: int = 1000
    """The tree learns from every trained cell plus a seeded random subset of the predicted ones (with
    tree_samples=all), at most this many in all."""
    rebuild_growth: float = 0.2
    """Rebuild the tree when what it learns from grew by this fraction since the last build (at least one)."""
    predictor: Predictor = "ridge"
    """What candidates are ranked by. ridge: the supernet's score corrected by a ridge regression on the
    full-training results so far (predictor.py), once `predictor_min_results` scored cells are trained;
    supernet: the supernet's score as it is (CE-NAS)."""
    predictor_min_results: int = 30
    predictor_features: PredictorFeatures = "graph"
    """What the ridge regression sees of a cell. onehot: the operation of each edge; graph: that plus the
    cell graph's operation counts and live paths (predictor.graph_features)."""
    proposal: Proposal = "estimate"
    """Which unseen cells of the selected region the sampling pool scores. random: uniformly (CE-NAS);
    estimate: once the ridge is fitted, the best by its estimate from the cell alone (non-dominated rank
    on estimated objectives among the known points, ties at random). docs/SEARCH.md has the measurements
    behind these three defaults."""
    tree: TreeConfig = field(default_factory=TreeConfig)

    def __post_init__(self) -> None:
        if self.proposal not in ("random", "estimate"):
            raise ValueError(f"proposal must be random or estimate, got {self.proposal!r}")
        if self.predictor not in ("ridge", "supernet"):
            raise ValueError(f"predictor must be ridge or supernet, got {self.predictor!r}")
        if self.predictor_features not in ("onehot", "graph"):
            raise ValueError(f"predictor_features must be onehot or graph, got {self.predictor_features!r}")
        if self.predictor_min_results < 2:
            raise ValueError("predictor_min_results must be >= 2")
        if self.sampler not in ("lamoo", "random"):
            raise ValueError(f"sampler must be lamoo or random, got {self.sampler!r}")
        if self.tree_samples not in ("results", "all"):
            raise ValueError(f"tree_samples must be results or all, got {self.tree_samples!r}")
        if self.initial_samples < 1 or self.max_tree_samples < 10:
            raise ValueError("initial_samples must be >= 1 and max_tree_samples >= 10")
        if self.rebuild_growth < 0:
            raise ValueError("rebuild_growth must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchConfig:
        d = dict(d)
        tree = TreeConfig(**d.pop("tree", {}))
        return cls(tree=tree, **d)


class Search:
    def __init__(self, space: Space, config: SearchConfig | None = None, seed: int = 0) -> None:
        self.space = space
        self.config = config or SearchConfig()
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        n = len(space)
        self.status = np.full(n, UNSEEN, dtype=np.int8)
        self.predicted = np.full(n, np.nan)
        self.true = np.full(n, np.nan)
        self.obs_row: list[int] = []
        self.obs_kind: list[int] = []
        self.obs_value: list[float] = []
        self.tree_at = 0  # the current tree was built from obs[:tree_at]
        self._tree: Tree | None = None
        self._tree_key: int | None = None
        self._regions: dict[tuple[int, ...], np.ndarray] = {}
        self._model: AccuracyModel | None = None
        self._model_rows = 0  # the model was fitted on this many results (they only ever grow)
        lo, hi = float(space.cost.min()), float(space.cost.max())
        self.ref = np.array([self.config.accuracy_ref, -(hi + self.config.cost_ref_margin * max(hi - lo, 1e-12))])

    # ---- observations -------------------------------------------------------------------------------
    def _observe(self, row: int, kind: int, value: float) -> None:
        self.obs_row.append(int(row))
        self.obs_kind.append(int(kind))
        self.obs_value.append(float(value))

    def count(self, status: int) -> int:
        return int(np.count_nonzero(self.status == status))

    @property
    def n_results(self) -> int:
        return self.count(TRAINED)

    @property
    def n_unseen(self) -> int:
        return self.count(UNSEEN)

    @property
    def n_queued(self) -> int:
        return self.count(SCORED)

    @property
    def n_scored(self) -> int:
        return int(np.count_nonzero(np.isfinite(self.predicted)))

    def _check_rows(self, rows, allowed: tuple[int, ...], what: str) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self.space)):
            raise ValueError(f"{what}: row out of range 0..{len(self.space) - 1}")
        bad = rows[~np.isin(self.status[rows], allowed)]
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"{what}: cell row {row} is {STATUS_NAMES[self.status[row]]}, "
                f"must be {' or '.join(STATUS_NAMES[a] for a in allowed)}"
            )
        if len(set(rows.tolist())) != rows.size:
            raise ValueError(f"{what}: a row appears twice")
        return rows

    # ---- the tree ----------------------------------------------------------------------------------
    def _results_mode(self, upto: int) -> bool:
        return self.config.tree_samples == "results" and sum(self.obs_kind[:upto]) >= self.config.initial_samples

    def _tree_samples(self, upto: int) -> np.ndarray:
        """Rows the tree learns from (config.tree_samples), out of obs[:upto]: trained rows first, then a
        seeded random subset of the predicted ones up to max_tree_samples."""
        rows = np.array(self.obs_row[:upto], dtype=np.int64)
        kinds = np.array(self.obs_kind[:upto], dtype=np.int64)
        trained = np.unique(rows[kinds == TRUE])
        if self._results_mode(upto):
            return trained
        predicted = np.setdiff1d(np.unique(rows[kinds == PREDICTED]), trained)
        room = self.config.max_tree_samples - len(trained)
        if len(predicted) > room:
            pick = np.random.default_rng([self.seed, upto, 1]).choice(len(predicted), max(room, 0), replace=False)
            predicted = np.sort(predicted[pick])
        return np.concatenate([trained, predicted])

    def _objectives_at(self, rows: np.ndarray, upto: int) -> np.ndarray:
        """Objectives of `rows` as known from obs[:upto]: the result if any, else the prediction."""
        acc: dict[int, tuple[int, float]] = {}
        for r, k, v in zip(self.obs_row[:upto], self.obs_kind[:upto], self.obs_value[:upto], strict=True):
            if k == TRUE or r not in acc or acc[r][0] != TRUE:
                acc[r] = (k, v)
        a = np.array([acc[int(r)][1] for r in rows])
        return to_max(a, self.space.cost[rows])

    def _maybe_rebuild(self) -> None:
        """Move tree_at to now when what the tree learns from grew by `rebuild_growth` since the last build
        (at least one observation more)."""
        n = len(self.obs_row)
        if n == self.tree_at:
            return
        if self._results_mode(n):
            now = sum(self.obs_kind)
            then = sum(self.obs_kind[: self.tree_at]) if self._results_mode(self.tree_at) else 0
        else:
            now, then = n, self.tree_at
        if now - then >= max(1, math.ceil(self.config.rebuild_growth * then)):
            self.tree_at = n

    def tree(self) -> Tree | None:
        """The tree built from obs[:tree_at] (None before the first observation)."""
        if self.tree_at == 0:
            return None
        if self._tree is None or self._tree_key != self.tree_at:
            rows = self._tree_samples(self.tree_at)
            y = self._objectives_at(rows, self.tree_at)
            # Node values use the samples' median accuracy as reference: a region's hypervolume then
            # measures what it holds above the typical sample, not the area every cell shares.
            ref = np.array([float(np.median(y[:, 0])), self.ref[1]])
            self._tree = Tree(self.space.encoding[rows], y, ref, self.config.tree, self.seed)
            self._tree_key = self.tree_at
            self._regions = {}
        return self._tree

    def fitted_tree(self) -> FittedTree | None:
        """The tree fitted so far and its region masks, for `reuse_tree` by a later copy of this search."""
        if self._tree is None or self._tree_key != self.tree_at:
            return None
        return FittedTree(self._tree_identity(), self._tree, self._regions)

    def reuse_tree(self, fitted: FittedTree | None) -> None:
        """Take a tree `fitted_tree` returned if it was built from the same observations: a search restored
        from its state every pass (the operator) then refits and retests nothing the last pass did. It
        changes no decision: the tree and its masks are pure functions of the observation prefix."""
        if fitted is not None and self._tree is None and fitted.identity == self._tree_identity():
            self._tree, self._tree_key, self._regions = fitted.tree, self.tree_at, fitted.regions

    def _tree_identity(self) -> tuple:
        n = self.tree_at
        return (self.space.checksum, self.config, self.seed, n, tuple(self.obs_row[:n]),
                tuple(self.obs_kind[:n]), tuple(self.obs_value[:n]))

    def _region(self, node: Node) -> np.ndarray:
        """Mask over the space of the cells in `node`'s region, cached per tree. Only cells without a
        result when the tree was built are tested (the others are never proposed or popped), so the cost
        falls as the search advances and the mask is a pure function of the observation log."""
        key = tuple(n.side for n in node.path())
        if key not in self._regions:
            mask = np.zeros(len(self.space), dtype=bool)
            kinds = np.asarray(self.obs_kind[: self.tree_at], dtype=np.int64)
            done = np.asarray(self.obs_row[: self.tree_at], dtype=np.int64)[kinds == TRUE]
            test = np.setdiff1d(np.arange(len(self.space)), done)
            if node.parent is None:
                mask[test] = True
            else:
                mask[test] = Tree.in_region(node, self.space.encoding[test])
            self._regions[key] = mask
        return self._regions[key]

    def _selected(self, rebuild: bool = True) -> Node | None:
        if self.config.sampler == "random":
            return None
        if rebuild:
            self._maybe_rebuild()
        tree = self.tree()
        return tree.select() if tree is not None else None

    def _region_rows(self, status: int, rebuild: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(rows with `status` in the selected region, widened to its ancestors in order until one holds
        some, then all of them) and the whole set of rows with that status."""
        every = np.flatnonzero(self.status == status)
        node = self._selected(rebuild)
        while node is not None and every.size:
            inside = every[self._region(node)[every]]
            if inside.size:
                return inside, every
            node = node.parent
        return every, every

    # ---- the sampling pool --------------------------------------------------------------------------
    def propose(self, k: int, *, train: bool = False) -> list[int]:
        """Up to k unseen cells from the selected region, widening to the parent region and up to the whole
        space when it holds fewer (fewer than k only when fewer remain). They become `proposed`
        (awaiting a supernet score) or, with train=True (vanilla), `training`."""
        unseen = np.flatnonzero(self.status == UNSEEN)
        k = min(int(k), len(unseen))
        if k <= 0:
            return []
        seen = len(self.space) - len(unseen)
        node = None if seen < self.config.initial_samples else self._selected()
        chosen: list[int] = []
        while True:
            pool = unseen if node is None else unseen[self._region(node)[unseen]]
            if chosen:
                pool = np.setdiff1d(pool, chosen)
            chosen += self._proposal_pick(pool, k - len(chosen), train)
            if len(chosen) >= k or node is None:
                break
            node = node.parent
        rows = np.array(chosen, dtype=np.int64)
        self.status[rows] = TRAINING if train else PROPOSED
        return chosen

    def _proposal_pick(self, pool: np.ndarray, k: int, train: bool) -> list[int]:
        """Up to k rows of `pool` (unseen) to propose (config.proposal): a random draw, or once the ridge is
        fitted those with the best non-dominated rank of their estimate among the known points (fronts
        peeled until k are found; ties at random)."""
        shuffled = self.rng.permutation(pool)
        model = None if train or self.config.proposal == "random" else self._accuracy_model()
        if model is None or shuffled.size <= k:
            return [int(r) for r in shuffled[:k]]
        cand = to_max(model.predict_unscored(self._cell_features(shuffled)), self.space.cost[shuffled])
        picked: list[int] = []
        for top in candidate_fronts(self._known_points(), cand):
            picked += shuffled[top].tolist()
            if len(picked) >= k:
                break
        return picked[:k]

    def add_predictions(self, rows, accuracies) -> None:
        """Supernet scores of proposed cells: they join the queue."""
        rows = self._check_rows(rows, (PROPOSED,), "add_predictions")
        acc = np.asarray(accuracies, dtype=np.float64).reshape(-1)
        if acc.shape != rows.shape or not np.isfinite(acc).all():
            raise ValueError("add_predictions: one finite accuracy per row")
        for r, a in zip(rows, acc, strict=True):
            self._observe(int(r), PREDICTED, float(a))
        self.predicted[rows] = acc
        self.status[rows] = SCORED

    def withdraw(self, rows) -> None:
        """Proposed cells that will not be scored (a lost or cut scoring trial): back to unseen."""
        rows = self._check_rows(rows, (PROPOSED,), "withdraw")
        self.status[rows] = UNSEEN

    # ---- the evaluation pool ------------------------------------------------------------------------
    def _accuracy_model(self) -> AccuracyModel | None:
        """The ridge model of the trained cells that have a supernet score (refitted when one is added),
        or None while the config asks for the supernet alone or there are too few of them."""
        if self.config.predictor != "ridge":
            return None
        rows = np.flatnonzero((self.status == TRAINED) & np.isfinite(self.predicted))
        if len(rows) < self.config.predictor_min_results:
            return None
        if self._model is None or self._model_rows != len(rows):
            self._model = fit(self._cell_features(rows), self.predicted[rows], self.true[rows])
            self._model_rows = len(rows)
        return self._model

    def estimated(self, rows) -> np.ndarray:
        """Estimated accuracy of cells with a supernet score (config.predictor)."""
        rows = np.asarray(rows, dtype=np.int64)
        model = self._accuracy_model()
        if model is None or rows.size == 0:
            return self.predicted[rows]
        return model.predict(self._cell_features(rows), self.predicted[rows])

    def _cell_features(self, rows: np.ndarray) -> np.ndarray:
        if self.config.predictor_features == "graph":
            return self.space.graph_features[rows]
        return self.space.features[rows]

    def _known_points(self) -> np.ndarray:
        """Points candidates compete with: trained cells (true accuracy) and cells in training (their
        estimate, when they have a score: the 'believer' rule keeps two GPUs off one niche)."""
        trained = np.flatnonzero(self.status == TRAINED)
        training = np.flatnonzero((self.status == TRAINING) & np.isfinite(self.predicted))
        acc = np.concatenate([self.true[trained], self.estimated(training)])
        cost = self.space.cost[np.concatenate([trained, training])]
        return to_max(acc, cost)

    def _gains(self, cand: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Hypervolume each candidate point would add to the known points on its own."""
        front = known[pareto_mask(known)] if len(known) else known
        base = hypervolume(front, self.ref) if len(front) else 0.0
        return np.array([hypervolume(np.vstack([front, c[None, :]]), self.ref) - base for c in cand])

    def rank_candidates(self, rows) -> np.ndarray:
        """`rows` (cells with a prediction) ordered best first: non-dominated rank on estimated objectives
        among the known points and the candidates; ties by the hypervolume the candidate would add to the
        known points, then by estimated accuracy, then row."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return rows
        known = self._known_points()
        est = self.estimated(rows)
        cand = to_max(est, self.space.cost[rows])
        ranks = nondominated_ranks(np.vstack([known, cand]))[len(known) :]
        gain = self._gains(cand, known)
        return rows[np.lexsort((rows, -est, -gain, ranks))]

    def best_candidate(self, rows) -> int | None:
        """rank_candidates(rows)[0], computed by peeling fronts instead of ranking every candidate."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return None
        known = self._known_points()
        est = self.estimated(rows)
        cand = to_max(est, self.space.cost[rows])
        top = next(t for t in candidate_fronts(known, cand) if t.size)
        gain = self._gains(cand[top], known)
        order = np.lexsort((rows[top], -est[top], -gain))
        return int(rows[top[order[0]]])

    def queue_rows(self, rebuild: bool = True) -> np.ndarray:
        """Queued cells the next pop chooses from: those of the selected region (or its closest ancestor
        holding some, or all). rebuild=False looks without updating the tree (no state change)."""
        return self._region_rows(SCORED, rebuild)[0]

    def pop_queue(self, k: int = 1) -> list[int]:
        """The k best queued candidates of the selected region; they become `training`."""
        out: list[int] = []
        for _ in range(max(int(k), 0)):
            best = self.best_candidate(self.queue_rows())
            if best is None:
                break
            self.status[best] = TRAINING
            out.append(best)
        return out

    def add_result(self, row: int, accuracy: float) -> None:
        """The full-training accuracy of a cell in training."""
        rows = self._check_rows([row], (TRAINING,), "add_result")
        if not np.isfinite(accuracy):
            raise ValueError("add_result: accuracy must be finite")
        self._observe(int(rows[0]), TRUE, float(accuracy))
        self.true[rows[0]] = float(accuracy)
        self.status[rows[0]] = TRAINED

    def abandon(self, row: int) -> None:
        """A training that will not finish (failed for good): back to the queue if it was scored, else
        back to unseen."""
        rows = self._check_rows([row], (TRAINING,), "abandon")
        self.status[rows[0]] = SCORED if np.isfinite(self.predicted[rows[0]]) else UNSEEN

    # ---- what the search found ----------------------------------------------------------------------
    def trained_rows(self) -> np.ndarray:
        return np.flatnonzero(self.status == TRAINED)

    def front_rows(self) -> np.ndarray:
        """Trained cells on the Pareto front of their true objectives."""
        rows = self.trained_rows()
        if rows.size == 0:
            return rows
        return rows[pareto_mask(to_max(self.true[rows], self.space.cost[rows]))]

    def predicted_front_rows(self) -> np.ndarray:
        """Scored cells on the Pareto front of their predicted objectives (what one-shot NAS returns)."""
        rows = np.flatnonzero(np.isfinite(self.predicted))
        if rows.size == 0:
            return rows
        return rows[pareto_mask(to_max(self.predicted[rows], self.space.cost[rows]))]

    def hypervolume(self, ref=None) -> float:
        rows = self.trained_rows()
        if rows.size == 0:
            return 0.0
        return hypervolume(to_max(self.true[rows], self.space.cost[rows]), self.ref if ref is None else ref)

    # ---- serialisation ------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot (plain lists, ints, floats and strings)."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "config": self.config.to_dict(),
            "space": {"size": len(self.space), "checksum": self.space.checksum},
            "observations": {"row": list(self.obs_row), "kind": list(self.obs_kind), "value": list(self.obs_value)},
            "proposed": np.flatnonzero(self.status == PROPOSED).tolist(),
            "training": np.flatnonzero(self.status == TRAINING).tolist(),
            "treeAt": self.tree_at,
            "rng": _json_rng(self.rng.bit_generator.state),
        }

    @classmethod
    def from_state(cls, space: Space, state: dict[str, Any]) -> Search:
        """The search `to_state` saved; StateError on anything that does not fit."""
        if not isinstance(state, dict):
            raise StateError(f"a search state must be a JSON object, got {type(state).__name__}")
        if state.get("version") != STATE_VERSION:
            raise StateError(f"search state version must be {STATE_VERSION}, got {state.get('version')!r}")
        try:
            sp = state["space"]
            if sp["size"] != len(space) or sp["checksum"] != space.checksum:
                raise StateError("the search state belongs to another search space (size or checksum differ)")
            search = cls(space, SearchConfig.from_dict(state["config"]), int(state["seed"]))
            obs = state["observations"]
            for r, k, v in zip(obs["row"], obs["kind"], obs["value"], strict=True):
                r, k, v = int(r), int(k), float(v)
                if not 0 <= r < len(space) or k not in (PREDICTED, TRUE) or not math.isfinite(v):
                    raise StateError(f"bad observation (row {r}, kind {k}, value {v})")
                search._observe(r, k, v)
                if k == PREDICTED:
                    search.predicted[r] = v
                    search.status[r] = SCORED
                else:
                    search.true[r] = v
                    search.status[r] = TRAINED
            for key, status in (("proposed", PROPOSED), ("training", TRAINING)):
                rows = np.asarray(state[key], dtype=np.int64)
                if rows.size and (rows.min() < 0 or rows.max() >= len(space) or (search.status[rows] == TRAINED).any()):
                    raise StateError(f"{key} holds a row out of range or already trained")
                search.status[rows] = status
            search.tree_at = int(state["treeAt"])
            if not 0 <= search.tree_at <= len(search.obs_row):
                raise StateError("treeAt is past the observations")
            search.rng.bit_generator.state = state["rng"]
        except StateError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise StateError(f"malformed search state: {err!r}") from err
        return search


def _json_rng(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in state.items():
        out[k] = _json_rng(v) if isinstance(v, dict) else (int(v) if isinstance(v, np.integer) else v)
    return out
