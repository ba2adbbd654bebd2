"""Kestrel's policy engine: check a draft against the culture guidelines before it is published.

This module is the public facade: the hub imports ``policies`` and the names in ``__all__``
only, never a submodule (tests/hub/test_boundaries.py holds it to that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.backtracking import PackPattern, PatternProblem, exponential_witness, pattern_problems
from policies.budget import BudgetExceeded, Pattern, budget
from policies.engine import DEFAULT_PACK, Pack, check, load_pack
from policies.examples import ExampleCase, ExampleFailure, iter_examples, run_pack_examples
from policies.learned import CultureModel, sigmoid
from policies.mix import share_after
from policies.normalize import HAN
from policies.rules.length import measure_length
from policies.types import (
    AuthorHistory,
    Context,
    Decision,
    Draft,
    Finding,
    LengthCount,
    LengthLimit,
    Mix,
)

if TYPE_CHECKING:
    import click

__all__ = [
    "DEFAULT_PACK",
    "HAN",
    "AuthorHistory",
    "BudgetExceeded",
    "Context",
    "CultureModel",
    "Decision",
    "Draft",
    "ExampleCase",
    "ExampleFailure",
    "Finding",
    "LengthCount",
    "LengthLimit",
    "Mix",
    "Pack",
    "PackPattern",
    "Pattern",
    "PatternProblem",
    "budget",
    "check",
    "cli_group",
    "exponential_witness",
    "iter_examples",
    "load_pack",
    "measure_length",
    "pattern_problems",
    "run_pack_examples",
    "share_after",
    "sigmoid",
]


def cli_group() -> click.Group:
    """The ``policy`` command group (check, examples, eval), to mount in another command line.

    Imported on call: checking a draft needs neither click nor the evaluation code.
    """
    from policies.cli import policy

    return policy
