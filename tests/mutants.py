"""Mutation check (issue 22): plant realistic one-line bugs, one at a time, and see the tests go red.

    python tests/mutants.py                 # every mutant
    python tests/mutants.py --only dqn-is-weights --only q-next-mask
    python tests/mutants.py --baseline      # first: each selection green on the unchanged tree

Each mutant replaces one exact piece of source text (it must occur exactly once in its file) in a
copy of the repository made in a temporary directory (the real files are never touched), runs its
pytest selection there (``-x -q -n 0 -p no:cacheprovider``) and puts the file back. A mutant is

- CAUGHT when the selection fails (a test went red: the bug is noticed),
- MISSED when the selection passes (the bug would ship unnoticed),
- DOES NOT APPLY when its old text is not found exactly once (the code moved: re-point it; each
  mutant's ``what`` says the bug in words, so it can be planted again wherever the code went).

A selection that cannot run (a test file missing, pytest's usage error or an empty collection) is
BROKEN SELECTION, never CAUGHT. With ``--first-run`` a selection's test files that do not exist are
left out (so the first run, before the value tests were written, ran the suite of that day). Not collected by pytest (no test_ prefix; conftest.py's
``collect_ignore``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # seconds a selection may run before the mutant counts as caught (a hang is noticed)
MISSING_OK = False  # --first-run sets it: test files not written yet are left out of a selection


class Mutant(NamedTuple):
    id: str
    what: str  # the bug, in words (to re-point the mutant when the code moves)
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


DQN_TESTS = ("tests/test_dqn_values.py", "tests/test_dqn_fixes.py", "tests/test_replay.py",
             "tests/test_deep_agents.py")
RECURRENT_TESTS = ("tests/test_recurrent_dqn_values.py", "tests/test_recurrent_dqn.py",
                   "tests/test_recurrent_dqn_learning.py")
Q_TESTS = ("tests/test_q_values.py", "tests/test_q_learning.py", "tests/test_rooms.py")
REPORT_TESTS = ("tests/test_report_values.py", "tests/test_sweep_report.py", "tests/test_stats.py",
                "tests/test_stats_summary.py")
REPLAY_TESTS = ("tests/test_replay_values.py", "tests/test_replay.py", "tests/test_replay_properties.py",
                "tests/test_frame_replay.py", "tests/test_frame_replay_dqn.py", "tests/test_dqn_fixes.py")
REINFORCE_TESTS = ("tests/test_reinforce_estimator.py", "tests/test_reinforce_fixes.py",
                   "tests/test_reinforce_points.py", "tests/test_reinforce_paths.py")
HILL_TESTS = ("tests/test_hill_values.py", "tests/test_small_fixes.py", "tests/test_small_fixes_defaults.py",
              "tests/test_resume.py")

MUTANTS = [
    # ---------------------------------------------------------------- the twelve of issue 22
    Mutant("dqn-is-weights", "DQN: PER's importance weights not applied to the loss (a plain mean)",
           "agents/dqn.py",
           'loss = (torch.as_tensor(batch.weights) * loss_fn(q_taken, target, reduction="none")).mean()',
           'loss = loss_fn(q_taken, target, reduction="none").mean()', DQN_TESTS),
    Mutant("dqn-priorities", "DQN: priorities never updated after a gradient step", "agents/dqn.py",
           "buffer.update_priorities(batch.index, (target - q_taken).detach().numpy())", "pass", DQN_TESTS),
    Mutant("dqn-beta", "DQN: PER's beta never annealed towards 1 (stays --per-beta)", "agents/dqn.py",
           "beta = c.per_beta + (1.0 - c.per_beta) * frac", "beta = c.per_beta", DQN_TESTS),
    Mutant("dqn-act-mask", "DQN: the action mask ignored by the greedy action when acting", "agents/dqn.py",
           "return masked(self.q(seen), [masks[i] for i in rows]).argmax(dim=1).numpy()",
           "return self.q(seen).argmax(dim=1).numpy()", DQN_TESTS),
    Mutant("dqn-target-once", "DQN: the target network copied once (at the first interval) and never again",
           "agents/dqn.py", "if step % c.target_update_interval == 0:", "if step == c.target_update_interval:",
           DQN_TESTS),
    Mutant("dqn-epsilon-fraction", "DQN: epsilon annealed over the whole budget, not --exploration-fraction of it",
           "agents/dqn.py", "linear(c.epsilon_start, c.epsilon_end, c.exploration_fraction * total, progress())",
           "linear(c.epsilon_start, c.epsilon_end, total, progress())", DQN_TESTS),
    Mutant("dqn-polyak", "DQN: the Polyak mix inverted (tau and 1 - tau swapped)", "agents/dqn.py",
           "tp.mul_(1.0 - tau).add_(p, alpha=tau)", "tp.mul_(tau).add_(p, alpha=1.0 - tau)", DQN_TESTS),
    Mutant("dqn-lr-decay", "DQN: the learning-rate decay inverted (rising from 0 to --learning-rate)",
           "agents/dqn.py", 'group["lr"] = c.learning_rate * (1.0 - frac)', 'group["lr"] = c.learning_rate * frac',
           DQN_TESTS),
    Mutant("dqn-gradient-steps", "DQN: --gradient-steps ignored (always one gradient step a round)",
           "agents/dqn.py", "for _ in range(c.gradient_steps):", "for _ in range(1):", DQN_TESTS),
    Mutant("rdqn-is-weights", "recurrent DQN: importance weights dropped from the sequence loss",
           "agents/recurrent_dqn.py", "loss = (weights * valid * loss_fn(", "loss = (valid * loss_fn(",
           RECURRENT_TESTS),
    Mutant("q-next-mask", "tabular Q: the next state's action mask ignored in the target's max",
           "agents/q_learning.py",
           'self.q[s2, self._allowed(t.next_info.get("action_mask"))].max()', "self.q[s2].max()", Q_TESTS),
    Mutant("sweep-solved-strict", "sweep report: the solved fraction counts only scores strictly above the "
           "threshold", "gymlab/sweep.py", "sum(x >= threshold for x in scores[n])",
           "sum(x > threshold for x in scores[n])", REPORT_TESTS),
    # ---------------------------------------------------------------- the three REINFORCE ones of issue 22
    Mutant("rf-baseline-sign", "REINFORCE: the baseline added instead of subtracted", "agents/reinforce.py",
           "advantage = g - b", "advantage = g + b", REINFORCE_TESTS),
    Mutant("rf-greedy-scored", "REINFORCE: the greedy action scored instead of the sampled one",
           "agents/reinforce.py", "logp = dist.log_prob(torch.as_tensor(np.asarray(ep.actions)))",
           "logp = dist.log_prob(logits.argmax(-1) if not self.continuous else torch.as_tensor(np.asarray(ep.actions)))",
           REINFORCE_TESTS),
    Mutant("rf-mean-step", "REINFORCE: the running baseline's step size a constant 1/10 from the first update",
           "agents/reinforce.py", "self.mean_return) / min(self.updates, 10)", "self.mean_return) / 10",
           REINFORCE_TESTS),
    # ---------------------------------------------------------------- the textbook estimator's own
    Mutant("rf-divisor-flag", "REINFORCE textbook: divided by --batch-episodes, not the episodes the batch holds",
           "agents/reinforce.py", "loss = -(logp * weight).sum() / len(batch)",
           "loss = -(logp * weight).sum() / c.batch_episodes", REINFORCE_TESTS),
    Mutant("rf-discount-r-total", "REINFORCE textbook: gamma^t applied to the whole return (--no-reward-to-go)",
           "agents/reinforce.py", "if c.reward_to_go else np.ones(len(ep.rewards))",
           "if True else np.ones(len(ep.rewards))", REINFORCE_TESTS),
    Mutant("rf-value-ignored", "REINFORCE: the value baseline learned but not subtracted", "agents/reinforce.py",
           "b = v.detach()  # V(s_t)", "b = 0.0", REINFORCE_TESTS),
    # ---------------------------------------------------------------- the review of the estimator (M1-M9)
    Mutant("rf-value-not-detached", "REINFORCE: the value baseline not detached (the policy's loss leaks into V)",
           "agents/reinforce.py", "b = v.detach()  # V(s_t)", "b = v  # V(s_t)", REINFORCE_TESTS),
    Mutant("rf-off-policy", "REINFORCE: no on-policy check (episodes begun under older weights learned from)",
           "agents/torch_agent.py", "if episode.version == self.version() and len(self.taken[i]) < k:",
           "if len(self.taken[i]) < k:", REINFORCE_TESTS),
    Mutant("rf-first-to-finish", "REINFORCE: a batch takes the first k x N episodes to finish, from any env",
           "agents/torch_agent.py", "if episode.version == self.version() and len(self.taken[i]) < k:",
           "if episode.version == self.version() and sum(map(len, self.taken)) < k * self.num_envs:",
           REINFORCE_TESTS),
    Mutant("rf-mask-next-info", "REINFORCE: each step's mask recorded from next_info (one step late)",
           "agents/torch_agent.py", 'episode.masks.append(t.info.get("action_mask"))',
           'episode.masks.append(t.next_info.get("action_mask"))', REINFORCE_TESTS),
    Mutant("rf-box-clipped-scored", "REINFORCE: a Box episode records (and the update scores) the clipped action",
           "agents/torch_agent.py", "episode.actions.append(t.action)",
           "episode.actions.append(np.clip(t.action, self.env.action_space.low, self.env.action_space.high) "
           "if isinstance(self.env.action_space, spaces.Box) else t.action)", REINFORCE_TESTS),
    Mutant("rf-no-memory-in-update", "recurrent policies: the update runs the core one step at a time, with no "
           "memory through the episode", "agents/networks.py", "h = self.core(h.unsqueeze(1))[0].squeeze(1)",
           "h = self.core(h.unsqueeze(0))[0].squeeze(0)", REINFORCE_TESTS),
    Mutant("rf-mean-frozen-textbook", "REINFORCE textbook: the running mean never updated (--baseline mean acts "
           "as none)", "agents/reinforce.py",
           "self.mean_return += (float(g.mean()) - self.mean_return) / min(self.updates, 10)",
           "self.mean_return += 0.0 if textbook else (float(g.mean()) - self.mean_return) / min(self.updates, 10)",
           REINFORCE_TESTS),
    Mutant("rf-memory-kept", "REINFORCE: a recurrent policy's memory not cleared between episodes (--num-envs 1)",
           "agents/torch_agent.py", "self.memory = None  # the next episode starts with a clear memory", "pass",
           REINFORCE_TESTS),
    # ---------------------------------------------------------------- ten more, in less-tested places
    Mutant("replay-new-priority", "PER: a new transition enters with priority 1, not the largest seen so far",
           "agents/replay.py", "np.array([self.max_priority]))  # new: sure to be seen",
           "np.array([1.0]))  # new: sure to be seen", REPLAY_TESTS),
    Mutant("replay-max-priority", "PER: the largest priority seen is the last batch's largest, not a running max",
           "agents/replay.py", "self.max_priority = max(self.max_priority, float(priority.max()))",
           "self.max_priority = float(priority.max())", REPLAY_TESTS),
    Mutant("schedule-no-clamp", "schedules.linear not clamped: epsilon keeps falling past its end value",
           "agents/schedules.py", "min(1.0, t / duration)", "t / duration", DQN_TESTS + Q_TESTS),
    Mutant("q-epsilon-fraction", "tabular Q: epsilon decays over the whole budget, not --exploration-fraction of it",
           "agents/q_learning.py", "decay = c.exploration_fraction * budget.total", "decay = budget.total", Q_TESTS),
    Mutant("q-explore-mask", "tabular Q: exploring picks among every action, not the allowed ones",
           "agents/q_learning.py", "return int(self.rng.choice(self._allowed(mask)))",
           "return int(self.rng.choice(self.q.shape[1]))", Q_TESTS),
    Mutant("nstep-discount", "n-step: a window cut short by the episode's end discounted by gamma^n, not gamma^k",
           "agents/replay.py", "self.gamma ** len(self.window)", "self.gamma ** self.n", REPLAY_TESTS),
    Mutant("hill-blend", "hill climbing: the blend weights swapped (alpha on the champion, 1 - alpha on the mutant)",
           "agents/hill_climbing.py", 'self._crown((1.0 - c.alpha) * self.champion + c.alpha * trial["mutant"])',
           'self._crown(c.alpha * self.champion + (1.0 - c.alpha) * trial["mutant"])', HILL_TESTS),
    Mutant("dqn-learning-starts", "DQN: learning starts one step early (step >= --learning-starts)",
           "agents/dqn.py", "if step > c.learning_starts and", "if step >= c.learning_starts and", DQN_TESTS),
    Mutant("dqn-double-q-select", "DQN: double Q selects the next action with the target net (plain max again)",
           "agents/dqn.py", "best = masked(self.q(batch.next_obs), batch.next_masks)",
           "best = masked(q_next_target, batch.next_masks)", DQN_TESTS),
    Mutant("seq-stored-state", "sequence replay: the stored state taken at the first trained slot, not at slot 0 "
           "(the burn-in then starts from the wrong memory)", "agents/sequence_replay.py", "if k == 0:",
           "if k == self.burn_in:", RECURRENT_TESTS),
]


def copy_tree(dest: Path) -> None:
    skip = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "runs", "build", "dist", "*.egg-info", ".venv",
                                  ".hypothesis", "MUTANTS_TABLE.txt")
    shutil.copytree(ROOT, dest, ignore=skip, dirs_exist_ok=True)


def run_selection(tree: Path, tests: tuple[str, ...]) -> tuple[str, str, float]:
    """(verdict, detail, seconds) of the selection's run in ``tree``."""
    present = [t for t in tests if (tree / t.split("::")[0]).exists()]
    if not present:
        return "NO TESTS", "", 0.0
    if MISSING_OK is False and len(present) < len(tests):  # a renamed file would quietly shrink the selection
        gone = sorted(set(tests) - set(present))
        return "BROKEN SELECTION", "missing: " + ", ".join(gone), 0.0
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *present]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "CAUGHT", f"timed out after {TIMEOUT} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    lines = done.stdout.splitlines()
    if done.returncode == 0:
        return "MISSED", lines[-1] if lines else "", seconds
    failed = [ln for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    if done.returncode == 1 and failed:
        return "CAUGHT", failed[0][:150], seconds
    # exit 2 (interrupted: e.g. a collection error the mutant caused) is red; 3-5 (internal error, usage,
    # nothing collected) say the selection is broken, not that a test noticed the bug
    verdict = "CAUGHT" if done.returncode == 2 and failed else "BROKEN SELECTION"
    return verdict, f"pytest exit {done.returncode}: {(failed or lines or [''])[-1][:120]}", seconds


def apply(tree: Path, m: Mutant) -> str | None:
    """Plant ``m`` in ``tree``; the original text (to put back), or None if it does not apply."""
    path = tree / m.file
    if not path.exists():
        return None
    text = path.read_text()
    if text.count(m.old) != 1:
        return None
    path.write_text(text.replace(m.old, m.new))
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="ID", help="run this mutant (repeatable)")
    parser.add_argument("--baseline", action="store_true", help="first run each selection on the unchanged tree")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--first-run", action="store_true", help="leave out a selection's test files that do not "
                        "exist yet (the suite before the value tests); otherwise a missing file is BROKEN SELECTION")
    args = parser.parse_args(argv)
    global MISSING_OK
    MISSING_OK = args.first_run
    ids = {m.id for m in MUTANTS}
    unknown = [i for i in args.only or () if i not in ids]
    if unknown:
        print(f"mutants.py: no mutant {unknown[0]!r} (see --list)", file=sys.stderr)
        return 2
    chosen = [m for m in MUTANTS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id:24} {m.file:26} {m.what}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="gymlab-mutants-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        if args.baseline:
            for tests in dict.fromkeys(m.tests for m in chosen):
                verdict, detail, seconds = run_selection(tree, tests)
                ok = verdict == "MISSED"  # green: what a baseline must be
                print(f"baseline {'green' if ok else 'RED'} ({seconds:.0f} s): {' '.join(tests)}: {detail}",
                      flush=True)
                if not ok:
                    print("mutants.py: the unchanged tree fails a selection; fix that first", file=sys.stderr)
                    return 1
        for m in chosen:
            original = apply(tree, m)
            if original is None:
                rows.append((m, "DOES NOT APPLY", "old text not found exactly once", 0.0))
            else:
                try:
                    rows.append((m, *run_selection(tree, m.tests)))
                finally:
                    (tree / m.file).write_text(original)
            print(f"{rows[-1][0].id}: {rows[-1][1]} ({rows[-1][3]:.0f} s)", file=sys.stderr, flush=True)
    width = max(len(m.id) for m, *_ in rows)
    print(f"{'mutant':{width}}  {'verdict':14}  {'s':>4}  what / first failing test")
    for m, verdict, detail, seconds in rows:
        print(f"{m.id:{width}}  {verdict:14}  {seconds:4.0f}  {m.what}")
        if detail:
            print(f"{'':{width}}  {'':14}        {detail}")
    counts = {v: sum(r[1] == v for r in rows) for v in ("CAUGHT", "MISSED", "DOES NOT APPLY", "NO TESTS", "BROKEN SELECTION")}
    print(", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" of {len(rows)}")
    return 0 if counts["CAUGHT"] == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
