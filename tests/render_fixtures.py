"""Rows as the benchmarks write them (``benchmarks/_common.provenance`` stamps), for the renderer's tests."""

from __future__ import annotations


def stamp(command="python train.py --env CartPole-v1 --agent dqn --seeds 1000-1009", commit="6017cfb77c5c",
          when="2026-12-07 15:17:00", cpu="AMD EPYC 7B12", cores=2, load=0.1) -> dict:
    return {"commit": commit, "command": command, "when": when,
            "machine": {"cpu": cpu, "cores": cores, "usable_cores": cores, "python": "3.11.7", "system": "Linux"},
            "load": [load, 0.3, 0.3], "load_after": [1.9, 1.0, 0.5]}


def sweep_row(env, agent, figures, threshold, steps=50_000, train_s=12.5, **stamped) -> dict:
    """A row of ``benchmarks/deep_agents.py``: ``_common.sweep_row`` and its own fields."""
    seeds = list(range(1000, 1000 + len(figures)))
    done = [f for f in figures if f is not None]
    statuses = ["finished" if f is not None else "errored" for f in figures]
    row = {"seeds": seeds, "figures": figures, "statuses": statuses,
           "steps": steps, "train_s_median": train_s, "eval_env_kwargs": {},
           **stamp(command=f"python train.py --env {env} --agent {agent} --seeds 1000-{999 + len(figures)}", **stamped),
           "row": f"{env} {agent}", "env": env, "agent": agent, "threshold": threshold,
           "solved": None if threshold is None else sum(f >= threshold for f in done)}
    if done:
        row.update(iqm=sum(done) / len(done), iqm_ci=[min(done), max(done)])
    return row


def contestant(name, returns, p=None, **stamped) -> dict:
    """A row of ``benchmarks/dqn_vs_sb3.py``."""
    row = {"contestant": name, "agent": name.split()[0], "flags": [], "differs_from_sb3_same": "double Q",
           "q_weights": 8835, "gradient_steps_per_env_step": 0.5, "seeds": list(range(1000, 1000 + len(returns))),
           "finished": len(returns), "solved": sum(r >= 475 for r in returns), "iqm": 491.25, "iqm_ci": [480.5, 500.0],
           "env_steps_per_s_median": 777.7,
           "runs": [{"seed": 1000 + i, "status": "finished", "error": None, "eval_return": r, "env_steps_per_s": 777.7,
                     "wall_time_s": 64.0} for i, r in enumerate(returns)],
           **stamp(**stamped), "speed_vs_sb3_same": 1.7}
    if p is not None:
        row["probability_of_improvement_over_sb3_same"] = {"p": p, "ci": [0.41, 0.83]}
    return row


def speed_row(label, per_round, vs=None, key="contestant", env="CartPole-v1", **stamped) -> dict:
    """A row of the speed benchmarks: its rate each round, their median, and its ratio to the reference row."""
    ordered = sorted(per_round)
    row = {key: label, "env": env, "differs_from_sb3_same": "nothing", "env_steps_per_s_per_round": per_round,
           "env_steps_per_s_median": ordered[len(ordered) // 2],
           **stamp(**stamped)}
    if vs is not None:
        ref, ratios = vs
        ordered = sorted(ratios)
        row["vs_ref"] = {"ref": ref, "per_round": ratios, "median": ordered[len(ordered) // 2],
                         "min": ordered[0], "max": ordered[-1]}
    return row
