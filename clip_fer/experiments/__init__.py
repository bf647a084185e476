"""The report's experiment, and benchmarks: prompt configurations, models and data
sets scored on images encoded once."""

from ._benchmark import BenchmarkResult, run_benchmark
from ._experiment import (
    ExperimentResult,
    report_experiment_banks,
    report_experiment_configurations,
    run_experiment,
    sample_prompt_banks,
)
from ._search import search_results_frame, search_scoring

__all__ = [
    "BenchmarkResult",
    "ExperimentResult",
    "report_experiment_banks",
    "report_experiment_configurations",
    "run_benchmark",
    "run_experiment",
    "sample_prompt_banks",
    "search_results_frame",
    "search_scoring",
]
