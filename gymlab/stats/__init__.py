"""Statistics for multi-seed RL results, as rliable defines them.

Agarwal et al. 2021, "Deep reinforcement learning at the edge of the
statistical precipice" (NeurIPS), and its library ``rliable``: the
interquartile mean, stratified-bootstrap percentile intervals and the
probability of improvement. This module matches those definitions with numpy
alone (rliable's pinned dependencies clash with this project's environment),
and importing it imports nothing heavier than numpy.

Scores are 1-D (one score per run, e.g. the final mean return of each seed)
or 2-D (runs x tasks, ``scores[run, task]``, rliable's layout); a 1-D array is
one task.

    >>> from gymlab.stats import iqm, bootstrap_ci, probability_of_improvement
    >>> iqm([1, 2, 3, 4, 5, 6, 7, 8])               # trims 2 each end: mean(3, 4, 5, 6)
    4.5
    >>> probability_of_improvement([2, 3], [1, 3])  # (1 + 1 + 0 + 0.5) / 4
    0.625
    >>> bootstrap_ci([7.0] * 10)                    # every resample the same
    (7.0, 7.0)

Enough runs. An interval is computed only from at least ``MIN_RUNS_FOR_INTERVAL``
(10) runs: ``bootstrap_ci`` and ``probability_of_improvement_ci`` raise ValueError
on fewer (both sides, for the latter), and ``summarize`` gives ``None`` in place
of the interval, with every run's value, the range and n, which ``format_iqm``
prints as "14.6 (n = 3, no interval; range [13.2, 15.9]: ...)".

Failed runs. A NaN or infinite score (a diverged or crashed trial) is never
dropped silently: every function raises ``ValueError`` naming how many there
are. The caller decides what such a run scored (e.g. the environment's
minimum return, or a random policy's score) and passes that number, or leaves
the run out deliberately and says so.

Errors: bad scores (empty, NaN, None, not numbers, not 1-D or 2-D) and bad values
(``reps < 1``, ``confidence`` outside (0, 1), a non-finite threshold) raise
``ValueError``; arguments of the wrong type (a ``reps`` that is not an
integer, a ``confidence`` or threshold that is not a number, setting names
that are not strings) raise ``TypeError``.

Differences from rliable, on purpose:

* 1-D input is accepted (rliable needs runs x tasks). For it ``median`` is the
  sample median of the runs; rliable's ``aggregate_median`` is the median over
  tasks of each task's mean, which for one task is just the mean. 2-D input
  gets rliable's definition.
* Resampling uses ``numpy.random.default_rng(seed)``, so intervals are
  reproducible from ``seed`` alone (rliable draws from numpy's global random
  state and ignores its ``random_state`` argument). The intervals agree with
  rliable's up to Monte-Carlo error, not bit for bit. Default ``reps`` is 2000
  (rliable's ``get_interval_estimates`` defaults to 50000).
* ``solved_fraction`` counts ``score >= threshold`` (reaching the threshold
  solves the task, as Gymnasium's ``reward_threshold`` means it); rliable's
  score distributions count ``score > tau``.
"""

from __future__ import annotations

from .checks import MIN_RUNS_FOR_INTERVAL, enough_runs
from .estimators import bootstrap_ci, iqm, mean, median, solved_fraction
from .improvement import probability_of_improvement, probability_of_improvement_ci
from .report import curve_band, format_iqm, summarize
from .threshold import describe, format_to_threshold, time_to_threshold

__all__ = [
    "MIN_RUNS_FOR_INTERVAL",
    "enough_runs",
    "iqm",
    "mean",
    "median",
    "bootstrap_ci",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "solved_fraction",
    "summarize",
    "format_iqm",
    "curve_band",
    "describe",
    "time_to_threshold",
    "format_to_threshold",
]
