"""The reference pages written from the code, never by hand: every registered env from its class
docstring and registration, every agent's flags from its ``Config`` (the fields ``train.py --help``
lists), and ``train.py``'s own flags from its parser. ``docs/gen/hooks.py`` adds them to the site at
each build, so a page cannot say other than the code it describes.

    python docs/gen/reference.py envs      # print a page (agent-flags, train-flags) to read it
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
import textwrap
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "*Generated at build from the code by `docs/gen/reference.py`: edit the source, not this page.*"


def _import_root() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def cell(text) -> str:
    """``text`` safe in a Markdown table cell: no pipes, no line breaks, no HTML tags."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def code(value) -> str:
    text = repr(value) if not isinstance(value, str) or value == "" else value
    return "`" + cell(text).replace("`", "'") + "`"


# ------------------------------------------------------------------ envs
def _docstring_markdown(doc: str) -> str:
    """A Gymnasium-layout class docstring as Markdown under an env's heading: its ``## Section``
    headings one level down, its doctest examples fenced as Python sessions."""
    out, lines, i = [], inspect.cleandoc(doc).splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        out.append("#" + line if re.match(r"#{2,5} ", line) else line)
        i += 1
    return "\n".join(out)


def envs_page() -> str:
    _import_root()
    from gymlab import envs

    aliases: dict[str, list[str]] = {}
    for alias, (env_id, kwargs) in envs.ALIASES.items():
        extra = " ".join(f"{k}={v!r}" for k, v in kwargs.items())
        aliases.setdefault(env_id, []).append(f"`{alias}`" + (f" ({extra})" if extra else ""))
    parts = ["# Environments", "", GENERATED, "",
             "Every env registered under `gymlab/` (by `import gymlab`), from its registration and its class "
             "docstring: spaces, rewards, episode end, arguments. `train.py --env` takes the id or an alias.", "",
             "| id | aliases | class |", "| --- | --- | --- |"]
    sections = []
    for env_id, reg in envs._ENVS.items():
        module, cls_name = reg["entry_point"].split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        anchor = re.sub(r"[^a-z0-9]+", "-", env_id.lower()).strip("-")
        parts.append(f"| [`{env_id}`](#{anchor}) | {', '.join(aliases.get(env_id, [])) or '-'} | "
                     f"`{module}.{cls_name}` |")
        rows = [f"| entry point | `{reg['entry_point']}` |",
                f"| max episode steps | {reg.get('max_episode_steps', '-')} |",
                f"| reward threshold | {reg.get('reward_threshold', '-')} |"]
        if reg.get("vector_entry_point"):
            rows.append(f"| vector entry point | `{reg['vector_entry_point']}` |")
        params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
        args = ", ".join(f"`{p.name}={p.default!r}`" if p.default is not p.empty else f"`{p.name}`" for p in params)
        rows.append(f"| constructor arguments | {cell(args) if args else '-'} |")
        sections += [f"## {env_id} {{#{anchor}}}", "", "| registration | |", "| --- | --- |", *rows, "",
                     _docstring_markdown(cls.__doc__ or "(no docstring)"), ""]
    return "\n".join(parts + [""] + sections)


# ------------------------------------------------------------------ agents
def agent_flags_page() -> str:
    _import_root()
    from gymlab import agents
    from gymlab.agents.base import flag

    parts = ["# Agents' flags", "", GENERATED, "",
             "Each agent's hyper-parameters are the fields of its `Config` dataclass: the same source "
             "`python train.py --agent NAME --help` reads, and the one that checks a value (a value out of "
             "range is refused in one line, exit 2). The default is the Config's; a tuned entry for an env "
             "in `agents/hyperparams.py` overrides it, and a flag given overrides both.", ""]
    for name in agents.names():
        cls = agents.get(name)
        parts += [f"## {name}", "", f"`{cls.__module__}.{cls.__qualname__}`", ""]
        config = getattr(cls, "Config", None)
        if config is None or not dataclasses.is_dataclass(config):
            parts += ["No hyper-parameters.", ""]
            continue
        hints = typing.get_type_hints(config)
        parts += ["| flag | type | default | what (and what it accepts) |", "| --- | --- | --- | --- |"]
        for f in dataclasses.fields(config):
            kind = hints[f.name]
            kind_name = getattr(kind, "__name__", str(kind)) if typing.get_origin(kind) is not tuple else "sizes N,N"
            spelled = f"`{flag(f.name)}` / `--no-{flag(f.name)[2:]}`" if kind is bool else f"`{flag(f.name)}`"
            what = f.metadata.get("help", "")
            if f.metadata.get("choices"):
                what += f" One of: {', '.join(f.metadata['choices'])}."
            if f.metadata.get("arch"):
                what += " Shapes the network: a checkpoint keeps it."
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            parts.append(f"| {spelled} | {cell(kind_name)} | {code(default)} | {cell(what)} |")
        parts.append("")
    return _flag_tables("\n".join(parts))


def _flag_tables(page: str) -> str:
    """The page's body in a block the site's CSS knows (docs/stylesheets/extra.css: flags kept on one line)."""
    head, _, body = page.partition(GENERATED)
    return f'{head}{GENERATED}\n\n<div class="gymlab-flags" markdown>\n{body}\n</div>\n'


# ------------------------------------------------------------------ train.py
def _action_row(a: argparse.Action) -> str:
    names = " / ".join(f"`{s}`" for s in a.option_strings)
    if a.metavar:
        names += f" {cell(a.metavar if isinstance(a.metavar, str) else ' '.join(a.metavar))}"
    default = "-" if a.default in (None, argparse.SUPPRESS) else code(a.default)
    try:  # as argparse prints it: %(default)s filled in, %% a percent sign
        what = (a.help or "") % {**vars(a), "prog": "", "choices": ", ".join(map(str, a.choices or ()))}
    except (KeyError, TypeError, ValueError):
        what = a.help or ""
    if a.choices:
        what += f" One of: {', '.join(map(str, a.choices))}."
    return f"| {names} | {default} | {cell(what)} |"


def _parser_tables(parser: argparse.ArgumentParser, level: str = "##") -> list[str]:
    parts = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.option_strings and a.help != argparse.SUPPRESS]
        if not actions:
            continue
        title = "options" if group.title in ("options", "optional arguments") else group.title
        parts += [f"{level} {title}", "", "| flag | default | what |", "| --- | --- | --- |",
                  *(_action_row(a) for a in actions), ""]
    return parts


def _usage(parser: argparse.ArgumentParser) -> list[str]:
    return ["```text", textwrap.dedent(parser.format_usage()).strip(), "```", ""]


def train_flags_page() -> str:
    _import_root()
    parser = importlib.import_module("train").build_parser()
    parts = ["# train.py's flags", "", GENERATED, "",
             "From `train.py`'s own parser, as `python train.py --help` prints it; each agent adds its "
             "hyper-parameters ([Agents' flags](agent-flags.md)).", "", *_usage(parser), *_parser_tables(parser)]
    if parser.epilog:
        parts += ["## Also in `--help`", "", "```text", parser.epilog, "```", ""]
    return _flag_tables("\n".join(parts))


def play_flags_page() -> str:
    _import_root()
    from gymlab import play

    parser = play.build_parser()
    parts = ["# Keyboard play's flags", "", GENERATED, "",
             "From `gymlab play`'s parser (`python -m gymlab play --help` in a checkout); how to play is on "
             "[Keyboard play](play.md).", "", *_usage(parser), *_parser_tables(parser)]
    return _flag_tables("\n".join(parts))


def sequence_flags_page() -> str:
    _import_root()
    from gymlab.sequence_tasks import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = ["# Sequence experiments' flags", "", GENERATED, "",
             "From `python -m sequence_tasks`'s parser (`gymlab seq` installed): each experiment's own "
             "`--help`. What they do is on [Sequence experiments](sequence-tasks.md).", ""]
    for name, q in sub.choices.items():
        parts += [f"## {name}", "", *_usage(q), *_parser_tables(q, "###")]
    return _flag_tables("\n".join(parts))


PAGES = {
    "reference/envs.md": envs_page,
    "reference/agent-flags.md": agent_flags_page,
    "reference/train-flags.md": train_flags_page,
    "reference/play-flags.md": play_flags_page,
    "reference/sequence-flags.md": sequence_flags_page,
}

if __name__ == "__main__":
    print(PAGES[f"reference/{sys.argv[1]}.md"]())
