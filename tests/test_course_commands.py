"""The reinforcement-learning course pages (docs/course/0*.md): each page's short command, read from
the page itself (so the page and the test cannot drift), is run, and what it prints is held to loose
bounds that a broken agent fails. The output a page shows (written by docs/course/make_pages.py from a
run) is held to the same bounds. The slow ones (about 10-20 s of CPU each) are marked ``course``."""

from __future__ import annotations

import importlib.util
import re
from collections import deque
from pathlib import Path

import pytest

from benchmark_module import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "docs" / "course"
_spec = importlib.util.spec_from_file_location("make_pages", COURSE / "make_pages.py")
make_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_pages)

render = load_benchmark("render")
PAGES = sorted(make_pages.FIGURES)

# The lecture's converged table, normalised so that the largest entry is 100 (seed 001).
LECTURE = [[0, 0, 0, 0, 80, 0],
           [0, 0, 0, 64, 0, 100],
           [0, 0, 0, 64, 0, 0],
           [0, 80, 51, 0, 80, 0],
           [64, 0, 0, 64, 0, 100],
           [0, 80, 0, 0, 80, 100]]
# The lecture's doors, both ways, and 5-5: the moves a shortest route is counted in.
DOORS = {(0, 4), (1, 3), (1, 5), (2, 3), (3, 4), (4, 5), (5, 5)}


def shortest_moves(start: int) -> int:
    """Fewest moves from ``start`` through the doors into room 5 (from 5 itself: the one move 5 -> 5)."""
    neighbours = {r: {b for a, b in DOORS if a == r} | {a for a, b in DOORS if b == r} for r in range(6)}
    seen, todo = {start: 0}, deque([start])
    while todo:
        room = todo.popleft()
        for nxt in sorted(neighbours[room]):
            if nxt == 5:
                return seen[room] + 1
            if nxt not in seen:
                seen[nxt] = seen[room] + 1
                todo.append(nxt)
    raise AssertionError(f"no way out of room {start}")


def page(name: str) -> str:
    return (COURSE / name).read_text()


def run_page(name: str, tmp_path: Path) -> list[str]:
    """What each command of the page prints, run as the page writes it (its run under ``tmp_path``)."""
    return [make_pages.run(line, tmp_path / f"run{i}", timeout=300)
            for i, line in enumerate(make_pages.command_lines(page(name)))]


def shown(name: str) -> list[str]:
    """The output the page shows, one piece per command (split at the ``$ command`` lines)."""
    text = page(name)
    block = make_pages.FENCE.search(text, make_pages.command_block(text).end())
    assert block and block.group(1) == "text", f"{name}: no ```text block after its command"
    parts = [p for p in re.split(r"^\$ .*\n", block.group(2), flags=re.M) if p.strip()]
    assert len(parts) == len(make_pages.command_lines(text)), f"{name}: its output is not one per command"
    return parts


def evaluation(out: str) -> tuple[int, float]:
    m = re.search(r"evaluation over (\d+) episodes \(deterministic actions\): return (-?[\d.]+) \+- ", out)
    assert m, f"no evaluation line in:\n{out}"
    return int(m.group(1)), float(m.group(2))


def q_table(out: str) -> list[list[int]]:
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Q-table, normalised"))
    return [[int(v) for v in line.split()] for line in lines[at + 1:at + 7]]


def routes(out: str) -> dict[int, list[int]]:
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Greedy route from each state"))
    found = [[int(r) for r in line.strip().split(" -> ")] for line in lines[at + 1:at + 7]]
    return {route[0]: route for route in found}


# ------------------------------------------------------------------ each page's figures
def check_rooms(out: str) -> None:
    assert q_table(out) == LECTURE
    for start, route in routes(out).items():
        assert route[-1] == 5 and len(route) - 1 == shortest_moves(start), f"not a shortest way out: {route}"
    assert evaluation(out)[1] == 100.0


def check_greedy(out: str) -> None:
    table = q_table(out)
    learned = {(s, a) for s in range(6) for a in range(6) if table[s][a]}
    assert all(table[s][a] == LECTURE[s][a] for s, a in learned), "an entry it learned is not the lecture's"
    lecture = {(s, a) for s in range(6) for a in range(6) if LECTURE[s][a]}
    assert learned < lecture, "a greedy agent that never explores cannot have found every door's value"
    assert evaluation(out)[1] == 100.0  # it still gets out of every room


def check_hill(out: str) -> None:
    assert evaluation(out)[1] >= 200  # a random policy keeps the pole up about 22 steps


def check_reinforce(common: str, textbook: str) -> None:
    assert evaluation(common)[1] >= 200
    assert evaluation(textbook)[1] >= 150


def check_dqn(out: str) -> None:
    assert evaluation(out)[1] >= 100


def check_masks(dqn: str, random: str) -> None:
    assert evaluation(dqn) == (30, 100.0)  # out of every room within 3 moves: a shortest route from each
    assert evaluation(random)[1] < 90  # the control: following the mask at random is not enough


def check_pong(out: str) -> None:
    m = re.search(r"replay memory ([\d.,]+) MB for [\d,]+ frames, each stored once .*stored whole: ([\d.,]+) MB\)",
                  out)
    assert m, f"no frame replay line in:\n{out}"
    stored, whole = (float(v.replace(",", "")) for v in m.groups())
    assert 7.5 <= whole / stored <= 8.5  # 1/(2K) of storing obs and next_obs whole, K = 4
    episodes, mean = evaluation(out)
    assert episodes == 2 and -3 <= mean <= 3  # games to 3 points


CHECKS = {
    "01-rooms-q.md": check_rooms,
    "02-exploration.md": check_greedy,
    "03-hill-climbing.md": check_hill,
    "04-reinforce.md": check_reinforce,
    "05-dqn.md": check_dqn,
    "06-action-masks.md": check_masks,
    "07-pong-pixels.md": check_pong,
}


@pytest.mark.course  # (every page's command: .ci/run's site step)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_command_prints_what_a_working_agent_prints(name, tmp_path):
    CHECKS[name](*run_page(name, tmp_path))


@pytest.mark.parametrize("name", PAGES)
def test_the_output_a_page_shows_passes_the_same_checks(name):
    CHECKS[name](*shown(name))


def test_the_checks_fail_a_broken_agent():
    """The bounds bite: figures a broken agent prints are refused."""
    good = shown("01-rooms-q.md")[0]
    for broken in (good.replace("   51", "   64"),  # one entry off
                   good.replace("2 -> 3 -> 1 -> 5", "2 -> 3 -> 4 -> 0 -> 4 -> 5"),  # a detour
                   good.replace("return 100.00", "return 99.00")):
        with pytest.raises(AssertionError):
            check_rooms(broken)
    with pytest.raises(AssertionError):  # an agent that learned everything did explore
        check_greedy(good)
    with pytest.raises(AssertionError):
        check_hill("evaluation over 10 episodes (deterministic actions): return 22.40 +- 9.00")
    with pytest.raises(AssertionError):
        check_pong("dqn: replay memory 256.0 MB for 5,000 frames, each stored once in 4 ring(s), 4 stacked on "
                   "sampling (obs and next_obs stored whole: 256.0 MB)\n"
                   "evaluation over 2 episodes (deterministic actions): return -3.00 +- 0.00")


@pytest.mark.course
@pytest.mark.parametrize("name", PAGES)
def test_the_python_blocks_of_a_page_run(name):
    """A page's ```python blocks (the action-mask page's checks of DQN's masked acting) run as written."""
    for kind, code in make_pages.FENCE.findall(page(name)):
        if kind == "python" and not code.lstrip().startswith("--8<--"):
            exec(compile(code, f"{name} (a python block)", "exec"), {})


@pytest.mark.parametrize("name", PAGES)
def test_every_included_snippet_exists(name):
    for path, section in re.findall(r'--8<-- "([^":]+):([\w-]+)"', page(name)):
        source = (ROOT / path).read_text()
        for end in ("start", "end"):
            assert source.count(f"# --8<-- [{end}:{section}]") == 1, f"{path} has no single [{end}:{section}]"


@pytest.mark.parametrize("name", PAGES)
def test_the_rendered_blocks_are_the_stored_results(name):
    assert render.fill(page(name)) == page(name), f"{name}: run python benchmarks/render.py"


def test_render_py_fills_the_course_pages_by_default():
    assert {COURSE / name for name in PAGES} <= set(render.targets())
