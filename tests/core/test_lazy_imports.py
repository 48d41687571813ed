"""Commands load only the libraries their work needs: a fresh interpreter, then `sys.modules` after the import or command."""

from __future__ import annotations

import json
import subprocess
import sys

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
    # a run draws its figures with matplotlib, not scikit-learn
    ("import qms.validation.plots", {"matplotlib", "PIL"}),
    # `qms deid keygen` needs the key only
    ("import typer\nfrom qms.cli.commands import deid\ndeid.register(typer.Typer())", set()),
], ids=["protocolparser", "lock", "plots", "deid-commands"])
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
