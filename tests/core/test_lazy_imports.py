"""Commands load only the libraries their work needs: a fresh interpreter, then `sys.modules` after the import or command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "pandas", "sklearn", "scipy", "fairlearn", "matplotlib", "pydicom", "PIL", "numba",
         "sqlalchemy", "weasyprint", "pyhanko", "qms.deid.text", "qms.deid.pipeline")

_PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""

_CLI = """
from qms.cli.main import run
sys.argv = ["qms", *{argv!r}]
try:
    run()
except SystemExit:
    pass
"""


def _loaded(setup: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(setup=setup, heavy=HEAVY)], capture_output=True,
                         text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(("setup", "allowed"), [
    # protocol check/lock/show and validate's protocol reading: numpy only
    ("import qms.validation.protocolparser", set()),
    ("import qms.validation.lock", {"sqlalchemy"}),
    # `qms protocol lock` resolves and checks its inputs without a run's figures or pandas
    ("import qms.validation.inputs", {"sqlalchemy"}),
    # a run draws its figures with matplotlib, not scikit-learn
    ("import qms.validation.plots", {"matplotlib", "PIL"}),
    # `qms deid keygen` needs the key only
    ("import typer\nfrom qms.cli.commands import deid\ndeid.register(typer.Typer())", set()),
], ids=["protocolparser", "lock", "lock-inputs", "plots", "deid-commands"])
def test_a_module_imports_no_heavy_library_it_does_not_use(setup: str, allowed: set[str]) -> None:
    """Reading a protocol, drawing a run's figures or registering the deid commands loads none of the heavy libraries."""
    assert _loaded(setup) - allowed == set()


@pytest.mark.parametrize("argv", [["protocol", "show", "--help"], ["protocol", "check", "--help"],
                                  ["deid", "keygen", "--help"], ["model", "register", "--help"], ["test", "--help"]])
def test_a_command_s_help_loads_no_heavy_library(argv: list[str]) -> None:
    """`qms GROUP COMMAND --help` starts without torch, pandas, scikit-learn, scipy or the store's ORM."""
    assert _loaded(_CLI.format(argv=argv)) == set()


def test_training_and_a_run_s_figures_do_without_scikit_learn() -> None:
    """`qms model train` and a validation run's figures compute their ROC in numpy: scikit-learn (and scipy) never load."""
    assert _loaded("import qms.models.training\nimport qms.validation.plots") & {"sklearn", "scipy"} == set()


def test_a_dicom_worker_imports_neither_the_store_nor_scipy() -> None:
    """What a Ray worker imports to de-identify a DICOM file (`_FileTask` of `qms.deid.pipeline`) leaves out the
    audit trail's ORM (the driver alone records) and scipy (loaded by the pixel search where a frame has strokes):
    each spawned worker pays its imports (issue 17)."""
    assert _loaded("import qms.deid.pipeline") & {"sqlalchemy", "scipy", "pandas", "sklearn", "torch"} == set()


def test_writing_a_design_item_does_without_the_store(tmp_path: Path) -> None:
    """`qms new` reads the design files and writes one: the store's ORM (sqlalchemy) never loads, nor does the
    trace matrix (`qms.traceability` loads its store-backed names on first use)."""
    (tmp_path / "qms.toml").write_text('[tool.qms]\ndevice = "Synthetic"\nintended_use = "testing"\nsafety_class = "B"\n',
                                       encoding="utf-8")
    assert _loaded(_CLI.format(argv=["-C", str(tmp_path), "new", "need"])) == set()
    assert (tmp_path / "design" / "need-001.yaml").is_file()
    assert _loaded("import qms.traceability\nfrom qms.traceability.design import load_project_design\n"
                   "from qms.traceability.template import next_id") == set()


def test_the_traceability_package_still_gives_every_name_it_lists() -> None:
    """Each name in `qms.traceability.__all__` resolves, the store-backed ones on first use, to the defining module's object."""
    import qms.traceability as package

    for name in package.__all__:
        value = getattr(package, name)
        assert getattr(sys.modules[value.__module__], name) is value


def test_deid_reports_size_limit_default_is_the_batch_default() -> None:
    """`qms deid reports --max-bytes` defaults to the batch's own limit, though the CLI no longer imports it to say so."""
    from qms.cli.deid_reports import MAX_BYTES
    from qms.deid.text.batch import DEFAULT_MAX_BYTES

    assert MAX_BYTES == DEFAULT_MAX_BYTES


def test_a_small_auroc_bootstrap_does_without_numba() -> None:
    """A small study's AUROC bootstrap (32 cases) is counted by numpy: numba and its compiled loops never load."""
    setup = ("import numpy as np\n"
             "from qms.validation.intervals import CIMethod, bootstrap\n"
             "from qms.validation.resampled_auroc import ScoreBins\n"
             "rng = np.random.default_rng(0)\n"
             "bins = ScoreBins(rng.random(32), (rng.random(32) < 0.5).astype(int))\n"
             "bootstrap(lambda w: np.zeros(len(w)), 0.5, np.arange(32), resamples=2000, seed=1, level=0.95,\n"
             "          method=CIMethod.BOOTSTRAP_PERCENTILE, on_draws=bins)")
    assert "numba" not in _loaded(setup)


def test_a_file_table_s_counts_do_without_pyarrow_s_dataset_layer(tmp_path: Path) -> None:
    """`qms dataset create` counts a table's patients and studies from the one Parquet file: `pq.read_table` would
    load pyarrow.dataset (~0.08 s a command) for nothing."""
    setup = f"""
from pathlib import Path
from qms.validation.filetable import ManifestHead, read_file_table, write_file_table
from qms.validation.manifest import ManifestEntry
path = Path({str(tmp_path / "t.parquet")!r})
write_file_table(path, ManifestHead("t", "test", ("y",), ()),
                 [ManifestEntry(f"f{{n}}.dcm", "a" * 64, f"p{{n % 2}}", f"s{{n}}", {{"y": n % 2}}) for n in range(3)])
summary = read_file_table(path).summary()
assert (summary.patients, summary.studies) == (2, 3), summary
print("pyarrow.dataset" in sys.modules, file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(setup=setup, heavy=HEAVY)], capture_output=True,
                         text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "False"
