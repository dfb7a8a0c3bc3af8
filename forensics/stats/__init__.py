"""Calibrated tests: is the suspect closer to the reference than an independent model would be?

H0 is "S is no closer to R than an independent model is"; the independent models of the panel are
the unit of replication. The method, its assumptions and its calibration are in ``docs/methods.md``.
"""

from forensics.stats.contrast import MIN_CONTRAST_PROMPTS, ContrastTest, contrast_test, prior_variance
from forensics.stats.multiple_testing import holm
from forensics.stats.power import PanelPower, minimum_detectable_effect, panel_power, prediction_power
from forensics.stats.replicate import MIN_REPLICATE_PROMPTS, ReplicateTest, replicate_test
from forensics.stats.resampling import bootstrap_counts, rng_description
from forensics.stats.selection import SelectionTest, selection_test
from forensics.stats.serialise import jsonable

__all__ = [
    "MIN_CONTRAST_PROMPTS",
    "SelectionTest",
    "selection_test",
    "ContrastTest",
    "contrast_test",
    "prior_variance",
    "MIN_REPLICATE_PROMPTS",
    "PanelPower",
    "ReplicateTest",
    "bootstrap_counts",
    "holm",
    "minimum_detectable_effect",
    "panel_power",
    "prediction_power",
    "jsonable",
    "replicate_test",
    "rng_description",
]
