"""PNG figures for run directories. matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gymlab.runs import pyplot


def learning_curve(path: Path, end_steps, returns, lengths, title: str, window: int = 20, evals=()) -> None:
    """Episode returns and lengths against env steps, each with a moving average of ``window``
    episodes, and the periodic greedy evaluations ``evals`` as (step, mean return)."""
    plt = pyplot()
    x = np.asarray(end_steps)
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), dpi=100, sharex=True)
    for ax, values, name in ((axes[0], returns, "return"), (axes[1], lengths, "length")):
        y = np.asarray(values, dtype=float)
        ax.plot(x, y, ".", ms=3, alpha=0.35, label=f"episode {name}")
        if len(y) >= 2:
            w = min(window, len(y))
            ax.plot(x[w - 1:], np.convolve(y, np.ones(w) / w, mode="valid"), lw=2, label=f"mean of last {w}")
        if name == "return" and len(evals):
            ax.plot(*zip(*evals), "o-", color="black", ms=4, lw=1, label="greedy evaluation")
        ax.set(ylabel=f"episode {name}")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    axes[0].set_title(title)
    axes[1].set_xlabel("env steps")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def heatmap(path: Path, matrix, title: str, xlabel: str, ylabel: str) -> None:
    """A matrix as colours, annotated with its values when it is small enough to read."""
    plt = pyplot()
    m = np.asarray(matrix, dtype=float)
    rows, cols = m.shape
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * cols + 2), max(3, 0.22 * rows + 1.5)), dpi=100)
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    fig.colorbar(im, ax=ax)
    if rows * cols <= 400:
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if v < (m.min() + m.max()) / 2 else "black")
    if cols <= 20:
        ax.set_xticks(range(cols))
    if rows <= 20:
        ax.set_yticks(range(rows))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
