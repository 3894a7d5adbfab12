"""`citeqa eval`: retrieval, abstention and answers measured against questions with gold answers.

The metric functions (`metrics`) are pure; `runner` drives an engine; `report` prints and plots.
"""

from citeqa.evaluation.runner import VARIANTS, Report, parse_generate_modes, parse_modes, run

__all__ = ["VARIANTS", "Report", "parse_generate_modes", "parse_modes", "run"]
