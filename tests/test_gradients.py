"""python -m sequence_tasks gradients: the lecture's vanishing/exploding-gradient argument, measured.

The linear RNN's gradient equals the closed form (W_h^T)^l g; the Elman cell's gradient vanishes over
50 steps where an LSTM whose forget gates start open does not (and, said honestly, at torch's own
initialisation the LSTM's vanishes too); clipping keeps a diverging run finite."""

import json

import numpy as np
import pytest
import torch

from gymlab.sequence_tasks import gradients as G
from gymlab.sequence_tasks.backbone import RecurrentCore
from gymlab.sequence_tasks.cli import main


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.3])
def test_linear_rnn_gradient_is_the_closed_form(radius):
    """autograd's dJ/dh^(t-l) against (W_h^T)^l dJ/dh^(t), to float64 round-off, at every lag."""
    case = G.linear_case(radius, hidden=12, lags=40, vocab=5, batch=3, generator=torch.Generator().manual_seed(3))
    assert case["max_rel_error"] < 1e-12
    np.testing.assert_allclose(case["measured"], case["closed_form"], rtol=1e-12)
    # and the closed form's loop is the matrix power: a brute-force reference at one lag
    g = torch.Generator().manual_seed(3)
    w = G.scaled_matrix(12, radius, g)
    assert float(torch.linalg.eigvals(w).abs().max()) == pytest.approx(radius, rel=1e-12)
    assert case["closed_form"][0] > 0
    # the norm follows the radius: below 1 it vanishes, above it grows (over 40 steps)
    ratio = case["closed_form"][-1] / case["closed_form"][0]
    assert (ratio < 0.2) if radius < 1 else (ratio > 5) if radius > 1 else True


def test_closed_form_loop_equals_matrix_power():
    g = torch.Generator().manual_seed(0)
    w = G.scaled_matrix(6, 1.2, g)
    v = torch.randn(2, 6, generator=g, dtype=torch.float64)
    looped = v
    for _ in range(7):
        looped = looped @ w
    np.testing.assert_allclose(looped, (torch.linalg.matrix_power(w.T, 7) @ v.T).T, rtol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unroll_is_the_backbones_hand_written_cells(kind):
    """The states differentiated are those RecurrentCore(impl="cells") computes."""
    torch.manual_seed(0)
    net = G.CopyNet(kind, 5, 7)
    x, _ = G.copy_task(5, 6, 3, torch.Generator().manual_seed(1))
    out, _ = net.core(x)
    torch.testing.assert_close(torch.stack(net.states(x)), out)
    assert isinstance(net.core, RecurrentCore) and net.core.impl == "cells"


def norms(kind, forget_bias=None, seed=1000):
    """Lags 0 to 50, measured after a burn-in of 100 steps (not at the start of the sequence)."""
    torch.manual_seed(seed)
    net = G.CopyNet(kind, 8, 64, forget_bias=forget_bias)
    x, answer = G.copy_task(8, 50, 8, torch.Generator().manual_seed(seed), burn_in=100)
    return G.lag_norms(net, x, answer, lags=50)


def test_copy_task_burn_in_comes_before_the_answer():
    """burn_in random steps come first; the answer is the symbol read ``delay`` steps before the last."""
    x, answer = G.copy_task(5, 7, 3, torch.Generator().manual_seed(0), burn_in=4)
    assert x.shape == (4 + 7 + 1, 3, 5)
    assert torch.equal(x[4].argmax(-1), answer)


def test_the_measured_lags_are_not_the_start_of_the_sequence(tmp_path, monkeypatch):
    """The command measures lags 0 to --max-lag on sequences --burn-in steps longer (default 100), so
    that even the largest lag is not the state right after the zero start."""
    lengths, states = [], G.CopyNet.states

    def recording(self, x, *memory):
        if self.kind != "linear":  # (the training runs' linear RNN is not measured)
            lengths.append(len(x))
        return states(self, x, *memory)

    monkeypatch.setattr(G.CopyNet, "states", recording)
    assert main(["gradients", "--run-dir", str(tmp_path / "r"), "--max-lag", "6", "--hidden", "4", "--batch", "2",
                 "--explode-steps", "1", "--cells", "rnn", "--no-progress"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert lengths and set(lengths) == {100 + 6 + 1}
    assert len(s["cells"]["rnn"]["init"]) == 7 and s["burn_in"] == 100


@pytest.mark.parametrize("seed", [1000, 1001, 1002])
def test_open_lstm_keeps_its_gradient_past_the_start_effect(seed):
    """After the burn-in, over 50 steps: the Elman gradient falls below 1e-8 of lag 1's, the LSTM's with
    forget gates at sigma(3) stays within a factor 10 (at three seeds)."""
    rnn, lstm = norms("rnn", seed=seed), norms("lstm", forget_bias=3.0, seed=seed)
    assert len(rnn) == len(lstm) == 51
    assert rnn[50] / rnn[1] < 1e-8 and lstm[50] / lstm[1] > 0.1


def test_elman_gradient_vanishes_where_an_open_lstm_does_not():
    """At the backbone's init (seed 1000, 64 units): the Elman norm at lag 50 is below 1e-8 of lag
    1's; the LSTM with forget gates at sigma(3) keeps it within a factor 10."""
    rnn, lstm = norms("rnn"), norms("lstm", forget_bias=3.0)
    assert rnn[50] / rnn[1] < 1e-8
    assert lstm[50] / lstm[1] > 0.1
    assert lstm[50] / rnn[50] > 1e8


def test_lstm_at_torchs_init_vanishes_too():
    """Said, not hidden: with the forget gates at sigma(0) = 0.5 (torch's init, the backbone's default)
    the LSTM's gradient falls by orders of magnitude as well over 50 steps."""
    lstm = norms("lstm")
    assert lstm[50] / lstm[1] < 1e-6


class Tiny:
    vocab, hidden, batch, explode_radius, explode_lr, explode_steps, explode_delay = 4, 8, 8, 1.5, 0.1, 12, 15


@pytest.mark.parametrize("seed", [1000, 1001])
def test_clipping_keeps_a_diverging_run_finite(seed):
    bare = G.training_run(Tiny, None, seed)
    clipped = G.training_run(Tiny, 1.0, seed)
    assert bare["first_nonfinite_step"] is not None and not bare["weights_finite"]
    assert bare["losses"][-1] is None and len(bare["losses"]) == bare["first_nonfinite_step"]  # stopped there
    assert clipped["first_nonfinite_step"] is None and clipped["weights_finite"]
    assert all(v is not None and np.isfinite(v) for v in clipped["losses"])
    assert bare["losses"][0] == clipped["losses"][0]  # the same start: clipping is the only difference
    assert clipped["losses"][-1] < clipped["losses"][0]  # and it learns


def test_clip_by_norm_is_algorithm_1():
    p = torch.nn.Parameter(torch.zeros(2))
    q = torch.nn.Parameter(torch.zeros(1))
    p.grad, q.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    assert G.clip_by_norm([p, q], 10.0) == 5.0 and p.grad.tolist() == [3.0, 0.0]  # below: untouched
    assert G.clip_by_norm([p, q], 1.0) == 5.0
    torch.testing.assert_close(torch.cat([p.grad, q.grad]), torch.tensor([0.6, 0.0, 0.8]))


def test_command_writes_summary_and_plots(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["gradients", "--run-dir", str(run), "--seed", "1000", "--max-lag", "6", "--hidden", "4",
                 "--batch", "2", "--explode-steps", "3", "--train-steps", "1", "--no-progress"]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert set(s["cells"]) == {"rnn", "lstm", "lstm forget-bias 3", "gru"}
    assert len(s["cells"]["rnn"]["init"]) == 7 and len(s["cells"]["gru"]["trained"]) == 7
    assert [c["radius"] for c in s["linear"]] == [0.9, 1.0, 1.1]
    assert s["training"]["no_clip"]["first_nonfinite_step"] and not s["training"]["clip"]["first_nonfinite_step"]
    assert {"gradients.png", "clipping.png"} <= {p.name for p in run.iterdir()}
    assert "l=6" in capsys.readouterr().out


@pytest.mark.parametrize("flags", [["--cells", "rnn,tanh"], ["--cells", "rnn,rnn"], ["--max-lag", "0"],
                                   ["--forget-bias", "open"], ["--radii", "-1"], ["--clip", "0"]])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, flags):
    assert main(["gradients", "--run-dir", str(tmp_path / "r"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_the_linear_part_does_not_depend_on_the_cells_part(tmp_path):
    """Each part draws from its own stream of --seed: training the cells first leaves the linear
    RNNs' matrices (and so their curves) as they were."""
    tiny = ["--seed", "1000", "--max-lag", "4", "--hidden", "3", "--batch", "2", "--explode-steps", "1",
            "--cells", "rnn", "--no-progress"]
    assert main(["gradients", "--run-dir", str(tmp_path / "a"), *tiny]) == 0
    assert main(["gradients", "--run-dir", str(tmp_path / "b"), *tiny, "--train-steps", "2"]) == 0
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    assert a["linear"] == b["linear"]
    assert a["cells"]["rnn"]["init"] == b["cells"]["rnn"]["init"]


def test_lag_norms_are_the_mean_of_one_sequence_at_a_time():
    """An absolute check, not a ratio: each lag's value is the mean over the batch of the norms computed
    with one sequence at a time (the norm of the whole batch's gradient would be sqrt(B) too large for
    equal rows, and is no mean)."""
    torch.manual_seed(0)
    net = G.CopyNet("rnn", 5, 6)
    x, answer = G.copy_task(5, 7, 4, torch.Generator().manual_seed(0))
    alone = np.mean([G.lag_norms(net, x[:, i:i + 1], answer[i:i + 1]) for i in range(4)], axis=0)
    np.testing.assert_allclose(G.lag_norms(net, x, answer), alone, rtol=1e-5)


class TrainArgs:
    vocab, max_lag, batch, burn_in, train_steps = 4, 5, 3, 2, 3


@pytest.mark.parametrize("clip", [None, 0.05, 1.0])
def test_train_copy_clips_the_gradient_at_train_clip(clip):
    """--train-clip: each Adam step of train_copy follows the gradient clipped to that norm (None: not
    clipped), against a loop written out with torch's own clip_grad_norm_."""
    args = type("Args", (TrainArgs,), {"train_clip": clip})
    torch.manual_seed(0)
    net = G.CopyNet("gru", 4, 6)
    torch.manual_seed(0)
    ref = G.CopyNet("gru", 4, 6)
    G.train_copy(net, args, torch.Generator().manual_seed(1))
    gen, opt, clipped = torch.Generator().manual_seed(1), torch.optim.Adam(ref.parameters(), lr=1e-2), []
    for _ in range(3):
        x, answer = G.copy_task(4, 5, 3, gen, burn_in=2)
        loss = ref.loss(x, answer) / 3
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            clipped.append(float(torch.nn.utils.clip_grad_norm_(ref.parameters(), clip)) > clip)
        opt.step()
    assert clip != 0.05 or all(clipped)  # the small threshold does clip, every step
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_lstm_memory_cell_gradient_is_finite_differences():
    """||dJ/dc^(t-l)||, the LSTM's memory cell, at every lag against central differences of J with
    c^(t-l) of one sequence nudged (float64), the mean over the batch of each sequence's norm."""
    torch.manual_seed(0)
    net = G.CopyNet("lstm", 4, 3, forget_bias=1.0).double()
    x, answer = G.copy_task(4, 5, 2, torch.Generator().manual_seed(0), burn_in=1)
    x = x.double()
    weights = net.core.rnn._weights(0)

    def J(step, seq, unit, delta):
        """The loss with c^(step) of sequence ``seq`` moved by ``delta`` (so h^(step) reads it too)."""
        w_ih, w_hh, b_ih, b_hh = weights
        h = x.new_zeros(2, 3)
        c = torch.zeros_like(h)
        for t, x_t in enumerate(x):
            i, f, g, o = (x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            if t == step:
                c = c.clone()
                c[seq, unit] += delta
            h = torch.sigmoid(o) * torch.tanh(c)
        return float(net.loss(x, answer, [h]).detach())

    eps, T = 1e-6, len(x)
    by_hand = [np.mean([np.linalg.norm([(J(T - 1 - lag, b, k, eps) - J(T - 1 - lag, b, k, -eps)) / (2 * eps)
                                        for k in range(3)]) for b in range(2)]) for lag in range(T)]
    np.testing.assert_allclose(G.lag_norms(net, x, answer, wrt="c"), by_hand, rtol=1e-6)
    assert len(G.lag_norms(net, x, answer, lags=5, wrt="c")) == 6


def test_command_reports_the_lstm_memory_cell(tmp_path, capsys):
    assert main(["gradients", "--run-dir", str(tmp_path / "r"), "--max-lag", "4", "--hidden", "3", "--batch", "2",
                 "--burn-in", "2", "--explode-steps", "1", "--cells", "rnn,lstm", "--forget-bias", "3",
                 "--train-steps", "1", "--no-progress"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    lstm = s["cells"]["lstm forget-bias 3"]
    assert len(lstm["memory_init"]) == len(lstm["memory_trained"]) == 5 and "memory_init" not in s["cells"]["rnn"]
    assert "dJ^(t)/dc^(t-l)" in capsys.readouterr().out
