"""What `pip install 'fewshot[serve]'` installs, measured in a new virtual environment.

Builds a wheel of this checkout, installs it with the ``[serve]`` extra into an empty virtual
environment (versions pinned by ``constraints.txt``), and reports the distributions it holds and its
size on disk, beside the size of what the full install (``fewshot[train,serve,export]``) needs in the
current environment. It also checks, in that new environment, that an exported ONNX folder predicts,
that nothing imports torch, and that asking for training names the extra to install.

Run (about a minute: pip fetches onnxruntime, tokenizers and numpy, or takes them from its cache)::

    python benchmarks/serve_install.py
    python benchmarks/serve_install.py --render-only       # rewrite the table from the JSON

The test suite builds the same environment (``tests/test_serving.py``) with :func:`build_serve_environment`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

from _provenance import run_command, run_commit, write_results

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Packages a serve-only environment must not hold: the training stack.
TRAINING_STACK = ("torch", "transformers", "sentence-transformers", "setfit", "peft", "scikit-learn", "datasets",
                  "accelerate")


def build_serve_environment(root: Path, *, repo: Path = REPO) -> Path:
    """Install ``fewshot[serve]`` from ``repo`` into a new virtual environment under ``root``; return its python.

    The source is copied first, so building the wheel writes nothing into the checkout."""
    root = Path(root)
    src = root / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(repo / name, src / name)
    shutil.copytree(repo / "fewshot", src / "fewshot", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    quiet = ["--quiet", "--disable-pip-version-check", "--no-input"]
    subprocess.run([sys.executable, "-m", "pip", "wheel", *quiet, "--no-deps", str(src),
                    "-w", str(root / "wheel")], check=True, cwd=root)
    wheel = next((root / "wheel").glob("fewshot-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, cwd=root)
    python = root / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", *quiet, "-c", str(repo / "constraints.txt"),
                    f"{wheel}[serve]"], check=True, cwd=root)
    return python


def environment_report(python: Path) -> dict:
    """The distributions of the environment of ``python`` (pip and setuptools aside) and its site-packages MB."""
    script = ("import json, sysconfig\nfrom importlib import metadata\nfrom pathlib import Path\n"
              "site = Path(sysconfig.get_paths()['purelib'])\n"
              "dists = sorted({d.metadata['Name'].lower() for d in metadata.distributions()} - {'pip', 'setuptools'})\n"
              "size = sum(p.stat().st_size for p in site.rglob('*') if p.is_file() and not p.is_symlink())\n"
              "skip = sum(p.stat().st_size for name in ('pip', 'setuptools', '_distutils_hack') "
              "for p in (site / name).rglob('*') if p.is_file())\n"
              "print(json.dumps({'distributions': dists, 'mb': round((size - skip) / 1e6, 1)}))\n")
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _requirement_name(req: str) -> str | None:
    """The distribution a requirement string names; None for a requirement of an optional extra."""
    if "extra ==" in req.partition(";")[2]:
        return None
    name = req.split(";")[0].strip()
    for stop in "<>=!~[ (":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-") or None


def dependency_closure(roots: list[str]) -> set[str]:
    """The installed distributions ``roots`` need, themselves included (extras not followed)."""
    seen: set[str] = set()
    todo = [r.lower().replace("_", "-") for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [dep for dep in map(_requirement_name, dist.requires or []) if dep and dep not in seen]
    return seen


def installed_mb(names: set[str]) -> float:
    """Size on disk of the files of these installed distributions, in MB."""
    total = 0
    for name in names:
        dist = metadata.distribution(name)
        for f in dist.files or []:
            path = Path(dist.locate_file(f))
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def full_install_mb() -> dict:
    """Size of fewshot[train,serve,export] and everything it pulls in, as installed in this environment."""
    roots = ["numpy"]
    for req in metadata.requires("fewshot") or []:
        name, _, marker = req.partition(";")
        extra = marker.split("extra ==")[-1].strip().strip("'\"") if "extra ==" in marker else None
        if extra in {None, "train", "serve", "export"} and not name.strip().startswith("fewshot"):
            roots.append(name.split(";")[0])
    names = dependency_closure([_requirement_name(r) or r for r in roots])
    return {"distributions": len(names), "mb": round(installed_mb(names), 1)}


def check_serving(python: Path, folder: Path, texts: list[str]) -> dict:
    """In the environment of ``python``: predict ``texts`` with the exported ``folder``, list the heavy
    modules that got imported, and try to reach a training strategy."""
    script = ("import json, sys\nimport fewshot, fewshot.serving\n"
              f"model = fewshot.serving.load({str(folder)!r})\n"
              f"proba = model.predict_proba({texts!r}).tolist()\n"
              "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'sklearn') if m in sys.modules)\n"
              "try:\n    fewshot.SetFitClassifier\n    error = None\n"
              "except ImportError as exc:\n    error = f'{type(exc).__name__}: {exc}'\n"
              "print(json.dumps({'proba': proba, 'heavy': heavy, 'train_error': error}))\n")
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, cwd=folder.parent,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(folder.parent)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args) -> dict:
    import fewshot
    from fewshot.data import sample_k_shot

    results = {"context": {"python": platform.python_version(), "machine": platform.machine(),
                           "commit": run_commit(), "command": run_command("serve_install.py")}}
    with tempfile.TemporaryDirectory(prefix="fewshot-serve-install-") as tmp:
        python = build_serve_environment(Path(tmp) / "env")
        ds = fewshot.load_demo("intent")
        X, y = sample_k_shot(ds.train.X, ds.train.y, 8, seed=0)
        clf = fewshot.SetFitClassifier(seed=0, num_iterations=5).fit(X, y)
        folder = clf.export(Path(tmp) / "export", quantize="int8")
        check = check_serving(python, folder, ds.test.X[:20])
        agree = [max(range(len(p)), key=p.__getitem__) for p in check["proba"]]
        reference = fewshot.serving.load(folder).predict_proba(ds.test.X[:20]).argmax(1).tolist()
        results["serve"] = environment_report(python)
        results["check"] = {"same_labels_as_here": agree == reference, "heavy_modules_imported": check["heavy"],
                            "asking_for_training": check["train_error"]}
    results["full"] = full_install_mb()
    results["context"]["site_packages"] = sysconfig.get_paths()["purelib"]
    return results


def render(results: dict) -> str:
    ctx, serve, full, check = results["context"], results["serve"], results["full"], results["check"]
    return "\n".join([
        "# What `pip install 'fewshot[serve]'` installs", "",
        f"Measured by commit {ctx['commit']} (Python {ctx['python']}, {ctx['machine']}): `{ctx['command']}`.", "",
        "| install | distributions | size on disk |", "|---|---:|---:|",
        f"| `fewshot[serve]` in a new virtual environment (pip and setuptools aside) | {len(serve['distributions'])} "
        f"| {serve['mb']} MB |",
        f"| `fewshot[train,serve,export]`: what training and exporting need | {full['distributions']} | {full['mb']} MB |",
        "", f"`fewshot[serve]` holds: {', '.join(serve['distributions'])}.", "",
        "In that environment, an int8 export of a SetFit classifier (MiniLM, 8 demo messages per intent) "
        f"predicted the same labels as in the training environment: {check['same_labels_as_here']}; "
        f"heavy modules imported: {check['heavy_modules_imported'] or 'none'}; asking for `fewshot.SetFitClassifier` "
        f"gave `{check['asking_for_training']}`.", ""])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(HERE / "results" / "serve_install.md"))
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the JSON")
    write_results(parser.parse_args(argv), run, render)


if __name__ == "__main__":
    main()
