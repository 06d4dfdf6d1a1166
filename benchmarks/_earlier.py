"""Cells of an earlier run of the same active-learning setup standing in for cells a results folder
lacks (``--earlier DIR`` of ``active_target.py`` and ``active_warmup_decide.py``).

A cell is taken only where the folder lacks it, and only if it ran the same setup as the folder's own
cells: the same test rows, the same active-learning setup (which methods the suite lists aside) and
the same parameters. Where both hold a cell, the two must be the same run (the same pool sample,
training labels and metric at every round), else the earlier run cannot stand in and the script
stops. Example::

    from _earlier import fill_from_earlier
    extra, note = fill_from_earlier(collect("results/active_badge"), ["results/active"])
"""

from __future__ import annotations

from fewshot.bench.results import collect

SUITE_WIDE = ("methods",)  # active_setup keys that list the suite's arms, not how a cell ran

#: The ``--earlier`` command-line option, as ``(flags, argparse keywords)``.
OPTION = (("--earlier",), {"action": "append", "default": [], "metavar": "DIR",
                           "help": "an earlier run of the same suite: the cells the (first) results folder lacks "
                                   "are taken from it, and every cell both hold must be the same run (repeatable)"})


def cell_key(cell: dict) -> tuple:
    return cell["dataset"], cell["strategy"], cell["k"], cell["seed"]


def finished(cell: dict) -> bool:
    return cell.get("status") == "ok" and bool(cell.get("curve")) and bool(cell.get("active"))


def setup(cell: dict) -> tuple:
    """(test rows, active-learning setup, parameters) of a cell, its seed left out."""
    params = {k: v for k, v in (cell.get("requested_params") or {}).items() if k != "seed"}
    active = {k: v for k, v in (cell.get("active_setup") or {}).items() if k not in SUITE_WIDE}
    return cell.get("test_hash"), active, params


def same_run(a: dict, b: dict) -> bool:
    """Two cells of one (dataset, strategy, k, seed) that are the same run."""
    return ([p["metric"] for p in a["curve"]] == [p["metric"] for p in b["curve"]]
            and a.get("train_indices") == b.get("train_indices")
            and a.get("sample_hash") == b.get("sample_hash") and setup(a) == setup(b))


def fill_from_earlier(first_res, earlier: list[str]) -> tuple[list[dict], str]:
    """The cells ``first_res``'s suite plans but it lacks, from ``earlier`` folders, and a sentence
    saying what was taken and compared. Stops (``SystemExit``) when a cell both hold differs, or a
    taken cell's setup differs from the first folder's cells of the same strategy or dataset."""
    planned = {(k.dataset, k.strategy, k.k, k.seed) for k in first_res.suite.cells()} if first_res.suite else set()
    have = {cell_key(c): c for c in first_res.cells if finished(c)}
    setups = {c["strategy"]: setup(c)[1:] for c in have.values()}
    tests = {c["dataset"]: c.get("test_hash") for c in have.values()}
    taken: dict[tuple, dict] = {}
    compared = 0
    for folder in earlier:
        for c in collect(folder).cells:
            key = cell_key(c)
            if not finished(c) or key not in planned or key in taken:
                continue
            if key in have:
                if not same_run(have[key], c):
                    raise SystemExit(f"{folder}: the cell {key} differs from the one in the first folder (setup, "
                                     "training labels or a round's metric); the earlier run cannot stand in for "
                                     "the missing cells. Run them instead.")
                compared += 1
                continue
            mine = setup(c)
            if (c["strategy"] in setups and mine[1:] != setups[c["strategy"]]) or \
                    (c["dataset"] in tests and mine[0] != tests[c["dataset"]]):
                raise SystemExit(f"{folder}: the cell {key} was run with another setup (test rows, active-learning "
                                 "setup or parameters) than the first folder's cells; it cannot stand in.")
            taken[key] = c
    by_version: dict[str, int] = {}
    for c in taken.values():
        h = ((c.get("code") or {}).get("hash") or "unknown")[:12]
        by_version[h] = by_version.get(h, 0) + 1
    note = (f"The first folder holds {len(have)} of its {len(planned)} planned cells; "
            f"the {len(taken)} cell(s) it lacks are taken from earlier runs of the same setup ("
            + ", ".join(f"{n} at code {h}" for h, n in sorted(by_version.items()))
            + f"). Of the cells both hold, {compared} were compared and each is the same run: the same training "
            "labels and the same metric at every round.")
    return list(taken.values()), note
