"""Benchmark suite files: parse a TOML suite and check everything before any cell runs.

A suite names datasets, strategies (with parameters), k values (labeled examples per class) and
seeds. Every combination (dataset, strategy, k, seed) is one *cell* of the grid.

Example suite (``benchmarks/smoke.toml``)::

    name = "smoke"
    description = "demo data, every strategy with its smallest settings"
    datasets = ["demo:intent"]          # names under --data-dir, folders, "demo[:task]" or "hub:<id>"
    k = [4, 8]                          # labeled examples per class
    seeds = [0]
    max_test = 60                       # optional: fixed, seeded subsample of each test split

    [[strategies]]
    name = "majority"

    [[strategies]]
    name = "setfit"
    label = "setfit-tiny"               # optional; tells two configurations of one strategy apart
    k = [8]                             # optional; replaces the suite's k list for this strategy
    params = { num_iterations = 1 }

    [[strategies]]
    name = "head"
    grid = { learning_rate = [1e-4, 3e-4], batch_size = [8, 16] }   # optional: every combination

A ``grid`` turns one entry into one strategy configuration per combination of its values (the
cartesian product), each labelled ``<label>-<param>-<value>...``, e.g. ``head-learning_rate-0.0001-
batch_size-8``; ``params`` holds what the combinations share.

Keys of the file: ``name``, ``description``, ``datasets``, ``strategies``, ``k``, ``seeds``
(default ``[0]``), ``max_test``, ``test_seed`` (seed of the test subsample, default 0),
``eval_split`` (``"test"``, the default, or ``"validation"``: see below), ``sampling``
(``"per_class"``, the default: k examples of every class, the SetFit protocol; or
``"proportional"``: k × the number of classes rows in the training split's class proportions, at
least one of each class, to study imbalance as it comes; or ``"mentions"``, for NER datasets and
the ``token`` strategy: sentences drawn greedily until every entity type has k mentions, the
Few-NERD protocol, scored by entity F1) and
``data_dir`` (where dataset names are looked up when neither ``--data-dir`` nor
``FEWSHOT_DATA_DIR`` is given; relative to the suite file), ``shared_data`` (``true``: every
worker of a Ray cluster reads the dataset folders itself, from the same ``data_dir`` path, e.g. a
network file system, instead of receiving the test rows from the driver; each worker checks that
its rows hash to the driver's) and ``unlabeled`` (for strategies whose ``fit`` takes
``unlabeled=``, such as ``distill``: each cell draws this many texts from ``train``, seeded by the
cell's seed, disjoint from its k-shot sample and from the rows scored, and passes them without
their labels). Any other key is an error, so a typo never silently changes a benchmark.

A k of 0 means the whole training split: such cells run once, with the suite's first seed (the
sample is the same for every seed).

Tuning a default must never look at the test rows a README quotes: a suite with
``eval_split = "validation"`` scores every cell on the dataset's ``validation.jsonl`` when it has
one, and otherwise on a seeded, stratified hold-out of 20% of ``train`` (seed ``test_seed``); the
k-shot samples are then drawn from the rest of ``train``. The test split is not read.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import FewshotError

TOP_KEYS = (
    "name",
    "description",
    "datasets",
    "strategies",
    "k",
    "seeds",
    "max_test",
    "test_seed",
    "eval_split",
    "sampling",
    "data_dir",
    "shared_data",
    "active",
    "unlabeled",
)
EVAL_SPLITS = ("test", "validation")
SAMPLINGS = ("per_class", "proportional", "mentions")
FULL_K = 0  # a k of 0: the whole training split, run once
HOLDOUT_FRACTION = 0.2
STRATEGY_KEYS = ("name", "label", "params", "grid", "k")
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SuiteError(FewshotError, ValueError):
    """A suite file that cannot be run as written (the message lists every problem found)."""


class CellKey(NamedTuple):
    """One cell of the grid: a strategy (by its label) on a dataset at budget ``k`` with ``seed``."""

    dataset: str
    strategy: str
    k: int
    seed: int


@dataclass(frozen=True)
class StrategySpec:
    """A strategy configuration in a suite: registry ``name``, its ``params``, a unique ``label``
    (the name shown in reports; defaults to ``name``) and the k values it runs at."""

    label: str
    name: str
    params: dict = field(default_factory=dict)
    k: tuple[int, ...] = ()
    varied: dict = field(default_factory=dict)  # the grid point, when the entry had a ``grid``

    def to_dict(self) -> dict[str, Any]:
        out = {"label": self.label, "name": self.name, "params": dict(self.params), "k": list(self.k)}
        if self.varied:
            out["varied"] = dict(self.varied)
        return out


@dataclass
class Suite:
    """A parsed suite file. Build it with :func:`load_suite` or :func:`parse_suite`."""

    name: str
    datasets: list[str]
    strategies: list[StrategySpec]
    k: list[int]
    seeds: list[int] = field(default_factory=lambda: [0])
    max_test: int | None = None
    test_seed: int = 0
    eval_split: str = "test"
    sampling: str = "per_class"
    description: str = ""
    data_dir: Path | None = None
    path: Path | None = None
    shared_data: bool = False
    active: dict | None = None  # an active-learning simulation (fewshot.bench.active), else None
    unlabeled: int | None = None

    @property
    def all_k(self) -> list[int]:
        """Every k some strategy runs at, sorted."""
        return sorted({k for s in self.strategies for k in s.k})

    def strategy(self, label: str) -> StrategySpec:
        for spec in self.strategies:
            if spec.label == label:
                return spec
        raise KeyError(label)

    def cells(self) -> list[CellKey]:
        """The grid in run order: seed by seed, and within a seed k by k (smallest first), so a
        partial run soon holds a complete comparison of every strategy on every dataset at the
        smallest budget; later seeds and larger budgets fill in as the run goes on."""
        out = []
        for seed in self.seeds:
            for k in sorted(self.all_k, key=lambda k: (k == FULL_K, k)):  # the whole split last: it takes longest
                if k == FULL_K and seed != self.seeds[0]:
                    continue  # the whole training split is the same sample for every seed: run it once
                for dataset in self.datasets:
                    for spec in self.strategies:
                        if k in spec.k:
                            out.append(CellKey(dataset, spec.label, k, seed))
        return out

    def select(
        self,
        *,
        strategies: list[str] | None = None,
        datasets: list[str] | None = None,
        k: list[int] | None = None,
    ) -> Suite:
        """A copy restricted to some strategy labels (or registry names), datasets and budgets k."""
        if strategies:
            known = {s.label for s in self.strategies} | {s.name for s in self.strategies}
            bad = [s for s in strategies if s not in known]
            if bad:
                raise SuiteError(
                    f"--only-strategy {', '.join(bad)}: not in suite {self.name!r}; its strategies are "
                    f"{', '.join(s.label for s in self.strategies)}."
                )
        if datasets:
            bad = [d for d in datasets if d not in self.datasets]
            if bad:
                raise SuiteError(
                    f"--only-dataset {', '.join(bad)}: not in suite {self.name!r}; its datasets are "
                    f"{', '.join(self.datasets)}."
                )
        if k:
            bad_k = [str(v) for v in k if v not in self.all_k]
            if bad_k:
                raise SuiteError(
                    f"--only-k {', '.join(bad_k)}: not in suite {self.name!r}; its budgets are "
                    f"{', '.join(str(v) for v in self.all_k)} (0 is the whole training split)."
                )
        keep_s = [
            s for s in self.strategies if not strategies or s.label in strategies or s.name in strategies
        ]
        if k:  # a strategy keeps the chosen budgets it runs at; one that runs at none of them drops out
            keep_s = [replace(s, k=tuple(v for v in s.k if v in k)) for s in keep_s]
            keep_s = [s for s in keep_s if s.k]
        keep_d = [d for d in self.datasets if not datasets or d in datasets]
        return Suite(
            name=self.name,
            datasets=keep_d,
            strategies=keep_s,
            k=[v for v in self.k if not k or v in k],
            seeds=list(self.seeds),
            max_test=self.max_test,
            test_seed=self.test_seed,
            eval_split=self.eval_split,
            sampling=self.sampling,
            description=self.description,
            data_dir=self.data_dir,
            path=self.path,
            shared_data=self.shared_data,
            active=self.active,
            unlabeled=self.unlabeled,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "datasets": list(self.datasets),
            "strategies": [s.to_dict() for s in self.strategies],
            "k": list(self.k),
            "seeds": list(self.seeds),
            "max_test": self.max_test,
            "test_seed": self.test_seed,
            "eval_split": self.eval_split,
            "sampling": self.sampling,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "path": str(self.path) if self.path else None,
            "shared_data": self.shared_data,
            **({"active": self.active} if self.active else {}),
            **({"unlabeled": self.unlabeled} if self.unlabeled is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Suite:
        return cls(
            name=d["name"],
            datasets=list(d["datasets"]),
            strategies=[
                StrategySpec(
                    s["label"], s["name"], dict(s.get("params", {})), tuple(s["k"]), dict(s.get("varied", {}))
                )
                for s in d["strategies"]
            ],
            k=list(d["k"]),
            seeds=list(d.get("seeds", [0])),
            max_test=d.get("max_test"),
            test_seed=d.get("test_seed", 0),
            eval_split=d.get("eval_split", "test"),
            sampling=d.get("sampling", "per_class"),
            description=d.get("description", ""),
            data_dir=Path(d["data_dir"]) if d.get("data_dir") else None,
            path=Path(d["path"]) if d.get("path") else None,
            shared_data=bool(d.get("shared_data", False)),
            active=d.get("active"),
            unlabeled=d.get("unlabeled"),
        )


# --------------------------------------------------------------------------- parsing
def _unknown_keys(found, allowed, where: str) -> list[str]:
    problems = []
    for key in found:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
            problems.append(f"unknown key {key!r} in {where}{hint}")
    return problems


def _int_list(value, what: str, problems: list[str], *, minimum: int | None) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        problems.append(f"{what} must be a non-empty list of integers; got {value!r}")
        return []
    out = []
    for v in value:
        if not isinstance(v, int) or isinstance(v, bool):
            problems.append(f"{what} must hold integers; got {v!r}")
        elif minimum is not None and v < minimum:
            if what.endswith("k"):
                problems.append(
                    f"{what} = {v}: k is the number of labeled examples per class and must be >= 1 "
                    "(or 0 for the whole training split)"
                )
            else:
                problems.append(f"{what} = {v}: must be >= {minimum}")
        else:
            out.append(v)
    if len(set(out)) != len(out):
        problems.append(f"{what} repeats a value: {value!r}")
    return sorted(set(out))


def _label_part(value) -> str:
    """A parameter value as part of a label: ``2e-05``, ``true``, ``classify``, ``8_16``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (list, tuple)):
        return "_".join(_label_part(v) for v in value) or "empty"
    return re.sub(r"[^A-Za-z0-9._]+", "_", str(value)).strip("_") or "empty"


def _grid_variants(label: str, params: dict, grid, where: str, problems: list[str]) -> list[tuple[str, dict, dict]]:
    """``[(label, params, grid point)]``: one entry without a grid, else one per combination of the
    grid's values (the cartesian product, in the order written), labelled
    ``<label>-<param>-<value>[-<param>-<value>...]``."""
    import itertools

    if not isinstance(grid, dict):
        problems.append(f"{where}: grid must be a table of lists (grid = {{ epochs = [1, 2] }}); got {grid!r}")
        return []
    if not grid:
        return [(label, dict(params), {})]
    axes = []
    for key, values in grid.items():
        if key in params:
            problems.append(f"{where}: {key!r} is set both in params and in grid; keep one")
        if not isinstance(values, list) or not values:
            problems.append(
                f"{where}: grid.{key} must be a non-empty list of values (grid = {{ {key} = [1, 2] }}); "
                f"got {values!r}"
            )
            continue
        try:
            texts = [json.dumps(v, sort_keys=True) for v in values]
        except TypeError:
            problems.append(f"{where}: grid.{key} holds a value that is not plain (use str/number/bool/list)")
            continue
        if len(set(texts)) != len(texts):
            problems.append(f"{where}: grid.{key} repeats a value: {values!r}")
        axes.append([(key, v) for v in values])
    out = []
    for combo in itertools.product(*axes):
        point = dict(combo)
        vlabel = label + "".join(f"-{key}-{_label_part(v)}" for key, v in combo)
        out.append((vlabel, {**params, **point}, point))
    return out


def _toml():
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SuiteError(
                "reading suite files on Python 3.10 needs the 'tomli' package: pip install tomli"
            ) from None
    return tomllib


def parse_suite(text: str, *, source: str = "<suite>", base_dir: Path | None = None) -> Suite:
    """Parse suite TOML ``text`` and check its structure (keys, types, k >= 1, unique labels).

    Datasets and strategies are only checked against the world by :func:`check_suite`.
    Raises :class:`SuiteError` listing every problem.
    """
    tomllib = _toml()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{source} is not valid TOML: {exc}") from None
    problems = _unknown_keys(raw, TOP_KEYS, source)

    name = raw.get("name", Path(source).stem if source != "<suite>" else "suite")
    if not isinstance(name, str) or not name:
        problems.append(f"name must be a non-empty string; got {name!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description must be a string; got {description!r}")

    datasets = raw.get("datasets")
    if datasets is None:
        problems.append('missing key "datasets" (e.g. datasets = ["sst2", "demo:intent"])')
        datasets = []
    elif (
        not isinstance(datasets, list) or not datasets or not all(isinstance(d, str) and d for d in datasets)
    ):
        problems.append(f"datasets must be a non-empty list of names; got {datasets!r}")
        datasets = []
    elif len(set(datasets)) != len(datasets):
        problems.append(f"datasets lists a dataset twice: {datasets!r}")

    if "k" in raw:
        ks = _int_list(raw["k"], "k", problems, minimum=FULL_K)
    else:
        ks = []
    seeds = _int_list(raw.get("seeds", [0]), "seeds", problems, minimum=0)

    max_test = raw.get("max_test")
    if max_test is not None and (not isinstance(max_test, int) or isinstance(max_test, bool) or max_test < 1):
        problems.append(
            f"max_test must be a positive integer (test examples kept per dataset); got {max_test!r}"
        )
    test_seed = raw.get("test_seed", 0)
    if not isinstance(test_seed, int) or isinstance(test_seed, bool) or test_seed < 0:
        problems.append(f"test_seed must be a non-negative integer; got {test_seed!r}")
    eval_split = raw.get("eval_split", "test")
    if eval_split not in EVAL_SPLITS:
        problems.append(
            f"eval_split must be 'test' (report figures) or 'validation' (tuning: the dataset's "
            f"validation split, else a seeded hold-out of train; never test); got {eval_split!r}"
        )
    sampling = raw.get("sampling", "per_class")
    if sampling not in SAMPLINGS:
        problems.append(
            "sampling must be 'per_class' (k examples of every class), 'proportional' (k x classes "
            "rows in the training split's class proportions) or 'mentions' (NER: sentences until every "
            f"entity type has k mentions); got {sampling!r}"
        )

    unlabeled = raw.get("unlabeled")
    if unlabeled is not None and (not isinstance(unlabeled, int) or isinstance(unlabeled, bool) or unlabeled < 1):
        problems.append(
            f"unlabeled must be a positive integer (texts drawn from train, labels hidden); got {unlabeled!r}"
        )
    data_dir = raw.get("data_dir")
    if data_dir is not None:
        if not isinstance(data_dir, str):
            problems.append(f"data_dir must be a path string; got {data_dir!r}")
            data_dir = None
        else:
            data_dir = Path(data_dir)
            if not data_dir.is_absolute() and base_dir is not None:
                data_dir = (base_dir / data_dir).resolve()

    shared_data = raw.get("shared_data", False)
    if not isinstance(shared_data, bool):
        problems.append(
            f"shared_data must be true (Ray workers read the datasets from data_dir themselves) or false; "
            f"got {shared_data!r}"
        )
        shared_data = False

    strategies: list[StrategySpec] = []
    raw_strategies = raw.get("strategies")
    if raw_strategies is None:
        problems.append('missing [[strategies]] (e.g. [[strategies]] name = "setfit")')
        raw_strategies = []
    elif not isinstance(raw_strategies, list) or not raw_strategies:
        problems.append("strategies must be one or more [[strategies]] tables")
        raw_strategies = []
    labels_seen: set[str] = set()
    for i, entry in enumerate(raw_strategies, 1):
        where = f"[[strategies]] #{i}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table with name/params/k/label")
            continue
        problems += _unknown_keys(entry, STRATEGY_KEYS, where)
        sname = entry.get("name")
        if not isinstance(sname, str) or not sname:
            problems.append(f'{where} has no name (e.g. name = "setfit")')
            continue
        where = f"[[strategies]] #{i} ({sname})"
        label = entry.get("label", sname)
        if not isinstance(label, str) or not _LABEL_RE.match(label):
            problems.append(
                f"{where}: label {label!r} must be letters, digits, '.', '_' or '-' (it names files)"
            )
            continue
        params = entry.get("params", {})
        if not isinstance(params, dict):
            problems.append(f"{where}: params must be a table (params = {{ epochs = 1 }}); got {params!r}")
            params = {}
        for key, value in params.items():
            try:
                json.dumps(value)
            except TypeError:
                problems.append(
                    f"{where}: params.{key} = {value!r} is not a plain value (use str/number/bool/list)"
                )
        variants = _grid_variants(label, params, entry.get("grid", {}), where, problems)
        for vlabel, _vparams, _point in variants:
            if vlabel in labels_seen:
                problems.append(
                    f"{where}: label {vlabel!r} is used twice; give each configuration its own label "
                    '(e.g. label = "prompt-zero")'
                )
            labels_seen.add(vlabel)
        if "k" in entry:
            sk = _int_list(entry["k"], f"{where} k", problems, minimum=FULL_K)
        elif ks:
            sk = list(ks)
        else:
            problems.append(
                f"{where} has no k values: set k = [...] at the top of the suite or in the strategy"
            )
            sk = []
        strategies += [
            StrategySpec(label=vlabel, name=sname, params=vparams, k=tuple(sk), varied=point)
            for vlabel, vparams, point in variants
        ]
    if not ks:
        ks = sorted({k for s in strategies for k in s.k})
    active = None
    if "active" in raw:  # an active-learning simulation: one strategy per query method (and start)
        from .active import expand_strategies, parse_active

        active = parse_active(raw["active"], problems)
        if active is not None:
            strategies = expand_strategies(strategies, active, problems)

    if problems:
        raise SuiteError(f"suite {source} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return Suite(
        name=name,
        datasets=list(datasets),
        strategies=strategies,
        k=ks,
        seeds=seeds,
        max_test=max_test,
        test_seed=test_seed,
        eval_split=eval_split,
        sampling=sampling,
        description=description,
        data_dir=data_dir,
        shared_data=shared_data,
        active=active,
        unlabeled=unlabeled,
    )


def load_suite(path) -> Suite:
    """Read and parse a suite file (see the module docstring for its keys).

    Example::

        suite = load_suite("benchmarks/quick.toml")
        len(suite.cells())
    """
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"suite file {path} does not exist; see benchmarks/*.toml for examples.")
    suite = parse_suite(path.read_text(encoding="utf-8"), source=str(path), base_dir=path.resolve().parent)
    suite.path = path
    return suite


# --------------------------------------------------------------------------- checking against the world
def effective_data_dir(suite: Suite, data_dir=None) -> Path | None:
    """Where dataset names are looked up: ``--data-dir``, else ``FEWSHOT_DATA_DIR``, else the
    suite's ``data_dir``."""
    if data_dir:
        return Path(data_dir)
    env = os.environ.get("FEWSHOT_DATA_DIR")
    if env:
        return Path(env)
    return suite.data_dir


def dataset_key(spec: str) -> str:
    """A short, file-name-safe key for a dataset spec (a folder path becomes its folder name)."""
    if not (spec == "demo" or spec.startswith(("demo:", "hub:"))) and ("/" in spec or os.sep in spec):
        spec = Path(spec).name or spec
    return re.sub(r"[^A-Za-z0-9._-]+", "-", spec).strip("-") or "dataset"


def accepts_unlabeled(cls: type) -> bool:
    """Whether a strategy's ``fit`` takes ``unlabeled=`` (texts without labels, e.g. for distillation)."""
    import inspect

    try:
        return "unlabeled" in inspect.signature(cls.fit).parameters
    except (TypeError, ValueError):
        return False


def check_suite(suite: Suite, data_dir=None) -> dict[str, Any]:
    """Check a suite against the world before any cell runs; returns ``{dataset spec: Dataset}``.

    Resolves every dataset (a folder needs ``train.jsonl`` and ``test.jsonl``), checks it is a
    single-label classification set with a headline metric we compute, and builds every strategy
    with its parameters (unknown parameters and bad values are refused here). Raises
    :class:`SuiteError` listing every problem.
    """
    from ..datasets import resolve_dataset
    from ..metrics import HEADLINE_METRICS
    from ..registry import get_strategy, make_classifier

    base = effective_data_dir(suite, data_dir)
    problems: list[str] = []
    datasets: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for spec in suite.datasets:
        key = dataset_key(spec)
        if key in keys:
            problems.append(
                f"datasets {keys[key]!r} and {spec!r} would share the results key {key!r}; rename one"
            )
        keys[key] = spec
        try:
            ds = resolve_dataset(spec, base)
        except (FewshotError, ValueError, OSError) as exc:
            problems.append(f"dataset {spec!r}: {exc}")
            continue
        if ds.metric == "entity_f1" or suite.sampling == "mentions":  # NER: token strategies, mention sampling
            if ds.metric != "entity_f1":
                problems.append(f"dataset {spec!r} is not a NER dataset (metric {ds.metric!r}); sampling = "
                                "'mentions' draws sentences by entity mentions and needs NER data")
            elif suite.sampling != "mentions":
                problems.append(f"dataset {spec!r} is a NER dataset (entity_f1): set sampling = 'mentions' "
                                "(sentences until every entity type has k mentions)")
            else:
                datasets[spec] = ds
            continue
        if ds.metric not in HEADLINE_METRICS:
            problems.append(
                f"dataset {spec!r} is scored by {ds.metric!r}; the harness benchmarks single-label "
                "classification "
                f"(headline metric one of {', '.join(HEADLINE_METRICS)})"
            )
            continue
        bad = next((y for y in ds.train.y + ds.test.y if isinstance(y, (list, tuple, dict, float))), None)
        if bad is not None:
            problems.append(
                f"dataset {spec!r} has a label {bad!r}; the harness needs one str/int label per text"
            )
            continue
        if len(set(ds.train.y)) < 2:
            problems.append(f"dataset {spec!r} has fewer than two classes in its train split")
            continue
        datasets[spec] = ds

    for spec in suite.strategies:
        try:
            cls = get_strategy(spec.name)
            # values too (a negative epoch count, an ensemble member that does not exist), before any cell
            make_classifier(spec.name, **spec.params)._check_params()
        except ImportError as exc:
            problems.append(
                f"strategy {spec.label!r}: {spec.name!r} is registered but cannot be imported "
                f"({type(exc).__name__}: {exc})"
            )
            continue
        except (FewshotError, ValueError, TypeError) as exc:
            problems.append(f"strategy {spec.label!r}: {exc}")
            continue
        if suite.unlabeled is None and accepts_unlabeled(cls) and spec.name == "distill":
            problems.append(
                f"strategy {spec.label!r} learns from unlabeled texts: set unlabeled = N at the top of the suite "
                "(e.g. unlabeled = 2000 texts drawn from train, labels hidden)"
            )
        tokens = bool(getattr(cls, "supports_tokens", False))
        for dspec, ds in datasets.items():
            if tokens != (ds.metric == "entity_f1"):
                problems.append(
                    f"strategy {spec.label!r} tags {'words' if tokens else 'texts'} but dataset {dspec!r} "
                    f"{'is a NER dataset' if not tokens else 'holds texts with labels'}; "
                    "put NER datasets and the token strategy in a suite of their own"
                )
        if not getattr(cls, "supports_pairs", True):
            for dspec, ds in datasets.items():
                if ds.train.X and isinstance(ds.train.X[0], tuple):
                    problems.append(
                        f"strategy {spec.label!r} takes single texts but dataset {dspec!r} holds pairs"
                    )
    if problems:
        raise SuiteError(
            f"suite {suite.name!r} cannot run: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return datasets
