"""A budget that stops when the work is done: ``--stop-at SCORE``, for every agent.

    python train.py --env CartPole-v1 --agent dqn --stop-at 475 --eval-every 5000

Training stops at the first periodic greedy evaluation (every ``--eval-every`` steps, 5
episodes) whose mean return reaches SCORE, as Stable-Baselines3's
``StopTrainingOnRewardThreshold`` stops its ``EvalCallback``'s run: the budget is marked spent
(``Budget.stop``), so every agent's loop ends at its next step boundary, and the run ends as a
run whose budget ran out does (checkpoint, resume state, the final evaluation over
``--eval-episodes``, ``summary.json``). The budget stays the most it may take.

``summary.json``'s ``stopped`` says why the training ended: ``{"why": "stop_at", "stop_at",
"step", "eval_return_mean"}`` (the evaluation that reached it), ``{"why": "budget"}`` or
``{"why": "interrupted"}``.

An entry of ``gymlab/hyperparams/<agent>.yml`` may carry its own rule beside its budget:
``stop_at`` and ``eval_every`` (the period of the evaluations that look at it, in env steps),
used unless the command line says otherwise (``--stop-at off``: no rule; ``--eval-every``
its own period; ``--eval-every 0``: no periodic evaluation, so an entry's rule is off, and a
``--stop-at`` given with it is refused). ``--resume`` keeps the rule (it is the run's own, read
back from its evaluations so far); a run that stopped at its score has finished, and resuming
it is refused, as for a run whose budget is spent.
"""

from __future__ import annotations

import argparse
import math

from gymlab.cli import UsageError

OFF = "off"
KEYS = ("stop_at", "eval_every")  # an entry's rule, read beside its budget (agents/hyperparams.py)


def score(text: str) -> float | str:
    """``--stop-at``'s value: a finite number, or ``off``."""
    if text.strip().lower() == OFF:
        return OFF
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite score (a mean return) or 'off', got {text!r}")
    return value


score.__name__ = "score"


def settings(stop_at, eval_every: int | None, entry: dict, budget) -> tuple[float | None, int, str, dict]:
    """The run's ``(stop_at, eval_every, eval_unit, sources)`` from the command line's ``--stop-at`` and
    ``--eval-every`` (None: not given) over the entry's rule (``entry``: its ``KEYS`` that are set), the
    period a tenth of the budget when neither says; sources: where each came from, for those given."""
    sources, unit = {}, "steps"
    if eval_every is None and budget is not None:
        if "eval_every" in entry:  # (counted in env steps, as --eval-every)
            eval_every, sources["eval_every"] = entry["eval_every"], "entry"
        else:
            eval_every, unit = budget.total // 10, budget.unit
    eval_every = eval_every or 0
    rule = None if stop_at == OFF else stop_at
    if stop_at is None and budget is not None:
        rule = entry.get("stop_at")
        if rule is not None:
            sources["stop_at"] = "entry"
    elif stop_at is not None:
        sources["stop_at"] = "command line"
    if rule is not None and budget is None:
        raise UsageError("--stop-at stops training: give --steps or --episodes with --load")
    if rule is not None and not eval_every:
        if sources.get("stop_at") == "command line":
            raise UsageError(f"--stop-at {rule:g} stops at a periodic evaluation's score, so it needs periodic "
                             f"evaluations: give --eval-every STEPS (not 0)")
        rule = None  # (the entry's rule, with its evaluations turned off: off too)
        sources.pop("stop_at")
    return rule, int(eval_every), unit, sources


class StopRule:
    """The run's rule (``stop_at`` None: none), told each periodic evaluation's mean (``seen``): at the
    first that reaches it, the budget stops. ``evals``: those made before a resume, looked at again."""

    def __init__(self, stop_at: float | None, budget, evals=()):
        self.stop_at, self.budget, self.reached = stop_at, budget, None
        for step, mean in evals:
            self.seen(step, mean)

    # --8<-- [start:seen]
    def seen(self, step: int, mean: float) -> None:
        if self.stop_at is not None and self.reached is None and mean >= self.stop_at:
            self.reached = {"step": step, "eval_return_mean": round(mean, 6)}
            if self.budget is not None:
                self.budget.stop()  # every agent's loop looks at budget.spent() between its steps
    # --8<-- [end:seen]

    def said(self) -> str:
        """What the run's last line about its training adds: why it stopped before its budget, if it did."""
        if self.reached is None:
            return ""
        return (f"; stopped before the budget: the periodic evaluation at step {self.reached['step']} read "
                f"{self.reached['eval_return_mean']:g} >= --stop-at {self.stop_at:g}")

    def summary(self, interrupted: bool) -> dict:
        """``summary.json``'s ``stopped``: why the training ended."""
        if self.reached is not None:
            return {"why": "stop_at", "stop_at": self.stop_at, **self.reached}
        return {"why": "interrupted" if interrupted else "budget", "stop_at": self.stop_at}


def finished(spec: dict, evals, summary: dict | None) -> str | None:
    """Why ``--resume`` is refused for a run that stopped at its score (its summary not an interrupted
    one), or None."""
    rule = StopRule(spec.get("stop_at"), None, evals)
    if rule.reached is None or summary is None or summary.get("interrupted", True):
        return None
    return (f"it stopped at its --stop-at {rule.stop_at:g}: the periodic evaluation at step "
            f"{rule.reached['step']} read {rule.reached['eval_return_mean']:g}; its work is done (to train on "
            f"from its weights, a new run: --load RUN_DIR/checkpoint.npz --steps N)")
