"""Sequence prediction as RL: name the next character of a text."""

from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs._window import FrameRendering, import_pygame
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text

SPLITS = ("train", "test", "all")
_COLS, _ROWS, _CELL_W, _CELL_H = 40, 5, 8, 16


class CharPredictEnv(FrameRendering, gym.Env):
    """
    ## Description

    A window of ``length + 1`` consecutive characters of a text, one character
    per step: the agent sees the current character and names the next. The
    text and its split are those of the supervised ``chars`` experiment
    (``sequence_tasks.data``): by default the bundled sonnets, whose last tenth
    is the ``test`` split.

    ## Action Space

    `Discrete(V)`: the id of the predicted character, ``V`` the size of the
    text's vocabulary (``env.unwrapped.vocab.chars`` lists them in id order).

    ## Observation Space

    `Discrete(V)`: the id of the current character.

    ## Rewards

    1 when the prediction is right, 0 otherwise: an episode's return is the
    number of characters guessed, ``length`` at best.

    ## Starting State

    The window starts at a position drawn uniformly from ``self.np_random``.

    ## Episode End

    - Termination: after ``length`` predictions.
    - Truncation: none of its own (``max_episode_steps`` 1000 in the registration).

    ## Information

    ``info["target"]``, from ``step``: the id of the character just predicted
    (also the new observation).

    ## Arguments

    - ``text``: a UTF-8 text file (default: the bundled sonnets).
    - ``split``: ``"train"`` (the first nine tenths, default), ``"test"`` (the last
      tenth) or ``"all"``.
    - ``length``: predictions per episode (default 100).
    - ``render_mode``: ``None``, ``"human"`` or ``"rgb_array"`` (the text read so far,
      each character green where it was predicted, red where it was not).

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/CharPredict-v0", length=5)
    >>> obs, info = env.reset(seed=0)
    >>> obs2, reward, terminated, truncated, info = env.step(obs)   # "the same again"
    >>> reward == float(obs2 == obs), info["target"] == obs2
    (True, True)

    ## Evaluation

    ``train.py`` evaluates an agent trained here on the ``test`` split (the class's
    ``evaluation_kwargs``), unless ``--env-kwargs`` sets ``split`` or
    ``--eval-env-kwargs`` says otherwise: accuracies are on unseen text.

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}
    window_title = "gymlab: CharPredict"
    # train.py evaluates on text the agent never trained on, unless the run sets split itself.
    evaluation_kwargs = {"split": "test"}

    def __init__(self, text: str | None = None, split: str = "train", length: int = 100,
                 render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if int(length) != length or length < 1:
            raise ValueError(f"length must be a whole number >= 1, got {length!r}")
        full = load_text(text)
        self.vocab = Vocabulary(full)
        part = {"train": split_text(full)[0], "test": split_text(full)[1], "all": full}[split]
        if len(part) < length + 1:
            raise ValueError(f"the {split} split has {len(part)} characters, fewer than length + 1 = {length + 1}")
        self.ids = self.vocab.encode(part)
        self.length, self.split, self.render_mode = int(length), split, render_mode
        self.observation_space = spaces.Discrete(len(self.vocab))
        self.action_space = spaces.Discrete(len(self.vocab))
        self.window = self.ids[:self.length + 1]
        self.hits: list[bool] = []
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        start = int(self.np_random.integers(0, len(self.ids) - self.length))
        self.window, self.t, self.hits = self.ids[start:start + self.length + 1], 0, []
        if self.render_mode == "human":
            self.render()
        return int(self.window[0]), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be a character id 0..{len(self.vocab) - 1}, got {action!r}")
        self.t += 1
        target = int(self.window[self.t])
        self.hits.append(int(action) == target)
        if self.render_mode == "human":
            self.render()
        return target, float(self.hits[-1]), self.t >= self.length, False, {"target": target}

    def _draw_frame(self) -> np.ndarray:
        pygame = import_pygame()
        if not pygame.font.get_init():
            pygame.font.init()
        font = pygame.font.Font(None, 18)
        surface = pygame.Surface((_COLS * _CELL_W, _ROWS * _CELL_H))
        surface.fill((30, 30, 30))
        shown = self.vocab.decode(self.window[:self.t + 1])[-_COLS * _ROWS:]
        hits = ([None] + self.hits)[-len(shown):]
        for k, (ch, hit) in enumerate(zip(shown, hits)):
            colour = (200, 200, 200) if hit is None else (90, 210, 110) if hit else (235, 80, 70)
            glyph = "\u00b6" if ch == "\n" else ch
            surface.blit(font.render(glyph, True, colour), ((k % _COLS) * _CELL_W, (k // _COLS) * _CELL_H))
        return np.ascontiguousarray(pygame.surfarray.array3d(surface).swapaxes(0, 1))
