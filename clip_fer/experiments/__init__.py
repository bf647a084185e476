"""The report's experiment: many prompt configurations scored on images encoded once."""

from ._experiment import (
    ExperimentResult,
    report_experiment_banks,
    report_experiment_configurations,
    run_experiment,
    sample_prompt_banks,
)
from ._search import search_results_frame, search_scoring

__all__ = [
    "ExperimentResult",
    "report_experiment_banks",
    "report_experiment_configurations",
    "run_experiment",
    "sample_prompt_banks",
    "search_results_frame",
    "search_scoring",
]
