"""A trained policy as an ONNX graph, which onnxruntime (or any ONNX runtime) runs without Python's torch.

    gymlab export runs/X --onnx policy.onnx          # a run directory (its checkpoint.npz)
    gymlab export runs/X/checkpoint.npz --onnx p.onnx

The graph is the agent's greedy policy for a batch of observations, one step:
inputs ``obs`` and the policy's memories, outputs ``action``, ``outputs`` (the Q-values,
logits or means) and the memories after the step; every memory is all zeros at an
episode's start (``agents/onnx_policy.py`` names them). MLP, CNN and recurrent
policies of dqn, reinforce, hill and supervised export; the Q-table and the random agent have
no network, and SB3's references have SB3's, which this command does not export (yet). Once written, onnxruntime runs the
graph on observations drawn from the agent's observation space and must give the torch
policy's actions. Needs the ``export`` extra: ``pip install 'gymlab[export]'``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from pathlib import Path

from gymlab.cli import EXIT_OK, Parser, UsageError, command, guarded, path_arg

CHECKED_OBSERVATIONS = 64  # drawn from the observation space: onnxruntime's actions against torch's
OPSET = 17


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=command("gymlab export"), description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=path_arg, metavar="RUN_DIR", help="a run directory, or a checkpoint file in one")
    p.add_argument("--onnx", type=path_arg, metavar="FILE", required=True, help="the ONNX file to write")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never the run's checkpoint)")
    return p


def checkpoint_path(run: Path) -> Path:
    """The checkpoint of the run directory ``run`` (or ``run`` itself, a checkpoint file)."""
    if run.is_dir():
        path = run / "checkpoint.npz"
        if not path.is_file():
            raise UsageError(f"{run} holds no checkpoint.npz (is it a gymlab run directory?)")
        return path
    if not run.exists():
        raise UsageError(f"no run directory or checkpoint at {run}")
    return run


def load_agent(path: Path):
    """The agent in the checkpoint at ``path``; a ``module:Class`` agent it names is not imported."""
    from gymlab import agents
    from gymlab.agents import checkpoint

    meta = checkpoint.read_meta(path, {})
    try:
        agent_cls = agents.get(meta.get("agent", "?"))
    except agents.UnknownAgentError as err:
        raise checkpoint.CheckpointError(f"{path}: {err}", path, corrupt=True) from err
    return agent_cls.load(path), meta


def policy_of(agent):
    """The agent's greedy policy as a torch module (``agents.onnx_policy.GreedyPolicy``); a UsageError
    for an agent with no network of ours."""
    spec = agent.policy_network() if hasattr(agent, "policy_network") else None
    if spec is None:
        raise UsageError(f"agent {agent.name!r} has no network of gymlab's to export (dqn, reinforce, hill and "
                         f"supervised have one; SB3's references are not exported yet)")
    from gymlab.agents.onnx_policy import GreedyPolicy

    return GreedyPolicy(spec, agent.observation_space).eval()


def to_onnx(policy, observation_space, metadata: dict | None = None) -> bytes:
    """The policy's graph, batch size free, as the bytes of an ONNX file (``metadata``: the model's
    properties, each value JSON)."""
    import numpy as np
    import onnx
    import torch

    obs = torch.as_tensor(np.asarray(observation_space.sample())[None])
    state = policy.initial_state(1)
    names = list(policy.state_shapes)
    inputs, outputs = ["obs", *names], ["action", "outputs", *[f"{n}_out" for n in names]]
    axes = {"obs": {0: "batch"}, "action": {0: "batch"}, "outputs": {0: "batch"}}
    for name, shape in policy.state_shapes.items():
        axes[name] = axes[f"{name}_out"] = {shape.index(-1): "batch"}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():  # the tracer's notes on numpy calls it does not follow
        warnings.simplefilter("ignore")
        torch.onnx.export(policy, (obs, *state), buffer, dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(model, {k: json.dumps(v) for k, v in (metadata or {}).items()})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check_graph(data: bytes, policy, observation_space, n: int = CHECKED_OBSERVATIONS, seed: int = 0) -> int:
    """Run the graph in onnxruntime on ``n`` observations drawn from the space, with the memories at
    zero and then as the first step left them; raise if an action differs from the torch policy's.
    Returns how many actions were compared."""
    import numpy as np
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    observation_space.seed(seed)
    obs = np.stack([observation_space.sample() for _ in range(n)])
    state = [s.numpy() for s in policy.initial_state(n)]
    for _ in range(2):  # a first step, then a second one from the memories it left
        got = session.run(None, {"obs": obs, **dict(zip(policy.state_shapes, state))})
        with torch.no_grad():
            want = [t.numpy() for t in policy(torch.as_tensor(obs), *[torch.as_tensor(s) for s in state])]
        if not np.allclose(got[0], want[0], atol=1e-5):
            raise RuntimeError("onnxruntime's actions differ from the torch policy's")
        state = want[2:]
    return 2 * n


def export(args) -> int:
    prog = command("gymlab export")
    path = checkpoint_path(args.run)
    if args.onnx.is_dir():
        raise UsageError(f"--onnx {args.onnx} is a directory; give the file to write")
    if args.onnx.exists() and args.onnx.resolve() == path.resolve():
        raise UsageError(f"--onnx {args.onnx} is the run's checkpoint: give another file to write")
    if args.onnx.exists() and not args.force:
        raise UsageError(f"--onnx {args.onnx} exists: give --force to replace it, or another file")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise UsageError(f"exporting needs onnx and onnxruntime ({err}): pip install 'gymlab[export]'") from err
    from gymlab.agents import CheckpointError
    from gymlab.runs import atomic_write

    try:
        agent, meta = load_agent(path)
    except CheckpointError as err:
        raise UsageError(f"checkpoint error: {err}") from err
    policy = policy_of(agent)
    data = to_onnx(policy, agent.observation_space, {
        "gymlab_agent": agent.name, "gymlab_env": meta.get("env"), "gymlab_env_kwargs": meta.get("env_kwargs", {}),
        "gymlab_state": {name: list(shape) for name, shape in policy.state_shapes.items()}})
    compared = check_graph(data, policy, agent.observation_space)
    try:
        atomic_write(args.onnx, lambda f: f.write(data))
    except OSError as err:
        raise UsageError(f"--onnx {args.onnx}: cannot write there ({err.strerror or err})") from err
    memory = ", ".join(policy.state_shapes) or "none"
    print(f"{prog}: wrote {args.onnx} ({len(data):,} bytes): the greedy policy of agent {agent.name!r}; inputs obs "
          f"and its memories ({memory}), all zeros at an episode's start; onnxruntime gave the torch policy's actions "
          f"on {compared} observations")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return guarded(command("gymlab export"), lambda: export(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
