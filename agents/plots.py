"""PNG figures for run directories. matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gymlab.runs import claim, pyplot


def learning_curve(path: Path, end_steps, returns, lengths, title: str, window: int = 20, evals=(),
                   final_eval=()) -> None:
    """Episode returns and lengths against env steps, each with a moving average of ``window``
    episodes, the periodic greedy evaluations ``evals`` as (step, mean return), and the final
    evaluation's returns ``final_eval`` at the last step. Drawn for every run: one where no
    training episode ended (or an evaluation of a checkpoint) says so on the figure."""
    plt = pyplot()
    x = np.asarray(end_steps)
    last = int(x[-1]) if len(x) else 0
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), dpi=100, sharex=True)
    for ax, values, name in ((axes[0], returns, "return"), (axes[1], lengths, "length")):
        y = np.asarray(values, dtype=float)
        ax.plot(x, y, ".", ms=3, alpha=0.35, label=f"episode {name}")
        if len(y) >= 2:
            w = min(window, len(y))
            ax.plot(x[w - 1:], np.convolve(y, np.ones(w) / w, mode="valid"), lw=2, label=f"mean of last {w}")
        if name == "return" and len(evals):
            ax.plot(*zip(*evals), "o-", color="black", ms=4, lw=1, label="greedy evaluation")
        if name == "return" and len(final_eval):
            ax.plot([last] * len(final_eval), final_eval, "x", color="tab:red", ms=6,
                    label=f"final evaluation ({len(final_eval)} episodes)")
        if len(y) == 0:
            ax.text(0.5, 0.5, "no training episode ended", transform=ax.transAxes, ha="center", va="center",
                    color="gray")
        ax.set(ylabel=f"episode {name}")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    axes[0].set_title(title)
    axes[1].set_xlabel("env steps")
    fig.tight_layout()
    claim(path)
    fig.savefig(path)
    plt.close(fig)


def heatmap(path: Path, matrix, title: str, xlabel: str, ylabel: str, max_inches: float = 10.0) -> None:
    """A matrix as colours. A small one gets a cell per value, annotated, and a tick per row and
    column; a big one (Taxi's 500 x 6 Q-table) is fitted into at most ``max_inches`` a side
    (1000 px at 100 dpi), its cells too small for text: its shape goes into the title instead,
    and matplotlib picks a few round tick positions."""
    plt = pyplot()
    m = np.asarray(matrix, dtype=float)
    rows, cols = m.shape
    width, height = max(4, 0.6 * cols + 2), max(3, 0.22 * rows + 1.5)  # about 0.6 x 0.22 in a cell
    small = rows * cols <= 400 and width <= max_inches and height <= max_inches
    fig, ax = plt.subplots(figsize=(min(width, max_inches), min(height, max_inches)), dpi=100)
    # One block of colour a cell, as long as every row gets a pixel (~850 of them in 10 in);
    # beyond that, rows are averaged rather than dropped.
    im = ax.imshow(m, cmap="viridis", aspect="auto",
                   interpolation="nearest" if max(rows, cols) <= 800 else "antialiased")
    fig.colorbar(im, ax=ax)
    if small:
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if v < (m.min() + m.max()) / 2 else "black")
    else:
        title = f"{title}\n{rows} x {cols} ({ylabel} x {xlabel})"
    from matplotlib.ticker import MaxNLocator

    for axis, n in ((ax.xaxis, cols), (ax.yaxis, rows)):
        if n <= 20:
            axis.set_ticks(range(n))
        else:  # a few whole-number positions, not one label a row
            axis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    claim(path)
    fig.savefig(path)
    plt.close(fig)
