"""The figures of ``python -m sequence_tasks gradients`` (``gradients.py`` measures, this draws)."""

from __future__ import annotations

import math


def plot_gradients(exp, cells: dict, linear: list[dict]) -> str:
    """Left: ||dJ^(t)/dh^(t-l)|| against l for each cell (solid at initialisation, dashed after
    training; an LSTM's ||dJ^(t)/dc^(t-l)|| dotted, dash-dotted after training). Right: the linear RNN's measured norms (dots) on the closed form (lines)."""
    plt, path = exp.figure("gradients.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for i, (name, entry) in enumerate(cells.items()):
        color = f"C{i}"
        left.semilogy(entry["init"], color=color, label=f"{name} (init)")
        if "trained" in entry:
            left.semilogy(entry["trained"], "--", color=color, label=f"{name} (trained)")
        for when, style in (("init", ":"), ("trained", "-.")):  # an LSTM's memory cell, dJ/dc^(t-l)
            if f"memory_{when}" in entry:
                left.semilogy(entry[f"memory_{when}"], style, color=color, label=f"{name}: dJ/dc ({when})")
    left.set(xlabel="lag l", ylabel="||dJ^(t) / dh^(t-l)||", title="hand-written cells, copy task")
    for i, case in enumerate(linear):
        lags = range(len(case["measured"]))
        right.semilogy(lags, case["closed_form"], color=f"C{i}", label=f"radius {case['radius']:g}: (W_h^T)^l")
        right.semilogy(lags[::max(1, len(lags) // 25)], case["measured"][::max(1, len(lags) // 25)], "o", ms=3,
                       color=f"C{i}", label=f"radius {case['radius']:g}: autograd")
    right.set(xlabel="lag l", ylabel="||dJ / dh^(t-l)||", title="linear RNN: measured vs closed form")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return exp.save_figure(fig, path)


def plot_clipping(exp, runs: dict, args) -> str:
    """The two training runs' losses against the step (log scale); a cross where a loss stopped
    being finite."""
    plt, path = exp.figure("clipping.png")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for color, (name, r) in zip(("tab:red", "tab:blue"), runs.items()):
        label = f"clipped to norm {args.clip:g}" if r["clip"] else "not clipped"
        steps = [s for s, v in enumerate(r["losses"], 1) if v is not None and v > 0 and math.isfinite(v)]
        ax.semilogy(steps, [r["losses"][s - 1] for s in steps], ".-", ms=4, color=color, label=label)
        if r["first_nonfinite_step"]:
            last = max([r["losses"][s - 1] for s in steps], default=1.0)
            ax.plot([r["first_nonfinite_step"]], [last], "x", ms=12, color=color,
                    label=f"{label}: loss inf/NaN from step {r['first_nonfinite_step']}")
    ax.set(xlabel="SGD step", ylabel="loss (nats)",
           title=f"linear RNN, W_h radius {args.explode_radius:g}, lr {args.explode_lr:g}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return exp.save_figure(fig, path)
