"""Turn a results folder into tables, plots and a verdict per labeled budget.

:func:`write_report` reads ``RESULTS_DIR/cells/**.json`` (and ``suite.json`` when present) and
writes into ``RESULTS_DIR``:

- ``summary.md``: per k, a table of the headline metric (mean ± std over seeds, in %) per
  dataset × strategy with an average row and cost rows; a one-paragraph verdict per k; the
  published SetFit-paper figures beside ours where dataset and k match; compute totals and errors;
- ``summary.csv``: one row per dataset × strategy × k (plus ``average`` rows), metric as fractions;
- ``curves.png``: metric vs k per dataset, one line per strategy with a ±std band;
- ``cost.png``: median train seconds (log scale) against the average metric, one point per
  strategy × k, with the cost-quality frontier.

The parts live by idea: :mod:`~fewshot.bench.results` (loading and grouping cells, code
versions), :mod:`~fewshot.bench.verdicts` (which strategy to pick, paired ties),
:mod:`~fewshot.bench.tables` (``summary.md`` and ``summary.csv``) and :mod:`~fewshot.bench.plots`;
this module writes them together and re-exports their public names.

Example::

    from fewshot.bench import write_report
    paths = write_report("benchmarks/results/quick")
    print(open(paths["summary.md"]).read())
"""

from __future__ import annotations

from pathlib import Path

from .._atomic import write_text_atomic
from .plots import plot_cost, plot_curves
from .results import (
    Group,
    MixedCodeError,
    Results,
    check_code_versions,
    code_versions,
    collect,
    load_cells,
)
from .tables import CSV_COLUMNS, _csv_text, markdown, summary_rows
from .verdicts import TIE_RULE, Paired, paired_difference, verdict

__all__ = [
    "CSV_COLUMNS",
    "TIE_RULE",
    "Group",
    "MixedCodeError",
    "Paired",
    "Results",
    "check_code_versions",
    "code_versions",
    "collect",
    "load_cells",
    "markdown",
    "paired_difference",
    "plot_cost",
    "plot_curves",
    "summary_rows",
    "verdict",
    "write_report",
]


def write_report(results_dir, *, allow_mixed: bool = False) -> dict[str, Path]:
    """Write ``summary.md``, ``summary.csv``, ``curves.png`` and ``cost.png`` into ``results_dir``.

    Returns ``{file name: path}``. Raises :class:`~fewshot.bench.suite.SuiteError` when the folder
    holds no cells, and :class:`MixedCodeError` when its finished cells come from more than one
    code version or from code with uncommitted changes, unless ``allow_mixed`` (the report's
    footer then lists the versions and how many cells each made).
    """
    res = collect(results_dir)
    check_code_versions(res, allow_mixed=allow_mixed)
    out = Path(results_dir)
    paths = {
        "summary.md": write_text_atomic(out / "summary.md", markdown(res)),
        "summary.csv": write_text_atomic(out / "summary.csv", _csv_text(summary_rows(res))),
    }
    paths["curves.png"] = plot_curves(res, out / "curves.png")
    paths["cost.png"] = plot_cost(res, out / "cost.png")
    from .active import write_active_report  # active-learning cells: active.md, active_curves.png
    from .members import write_members_report  # ensembles against their members: members.md

    ok_cells = [c for g in res.groups.values() for c in g.ok]
    paths.update(write_active_report(out, ok_cells))
    paths.update(write_members_report(out, ok_cells))
    return paths
