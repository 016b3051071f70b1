"""The lecture's 6-room Q-learning world."""

from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs._window import FrameRendering, import_pygame

N_ROOMS = 6
OUTSIDE = 5
# Doors from the lecture, both ways; 5-5 is "staying outside".
DOORS = ((0, 4), (1, 3), (1, 5), (2, 3), (3, 4), (4, 5), (5, 5))


class RoomsEnv(FrameRendering, gym.Env):
    """
    ## Description

    The building from the lecture's Q-learning example: five rooms (0 to 4)
    and the outside (room 5), joined by doors 0-4, 1-3, 1-5, 2-3, 3-4, 4-5,
    and 5-5 (staying outside). The agent starts in a room and must get
    outside. The reward table is the lecture's ``R``:

        R      to: 0    1    2    3    4    5
        from 0:   -1   -1   -1   -1    0   -1
        from 1:   -1   -1   -1    0   -1  100
        from 2:   -1   -1   -1    0   -1   -1
        from 3:   -1    0    0   -1    0   -1
        from 4:    0   -1   -1    0   -1  100
        from 5:   -1    0   -1   -1    0  100

    ## Action Space

    `Discrete(6)`: action ``j`` means "go through the door to room ``j``".
    Only some actions have a door; ``info["action_mask"]`` (int8, 1 where a
    door exists from the current room) says which, as Taxi's does.

    ## Observation Space

    `Discrete(6)`: the room the agent is in.

    | Num | Observation      |
    |-----|------------------|
    | 0-4 | inside, room k   |
    | 5   | outside (goal)   |

    ## Rewards

    - +100 for moving through a door into room 5 (including 5 -> 5);
    - 0 for moving through any other door;
    - -1 for an action with no door: the agent stays where it is, so an
      agent that ignores the mask still works, it just learns more slowly.

    ## Starting State

    A room drawn uniformly from all six (``self.np_random``), unless
    ``start_room`` is given to the constructor, or ``options={"start_room": k}``
    to ``reset`` for one episode.

    ## Episode End

    - Termination: the agent enters room 5 (reward 100).
    - Truncation: 100 steps (``max_episode_steps`` in the registration).

    ## Information

    ``reset`` and ``step`` return ``{"prob": 1.0, "action_mask": mask}``.
    The exact dynamics are in ``env.unwrapped.P[s][a]``, a list of
    ``(probability, next_state, reward, terminated)`` as in FrozenLake.

    ## Arguments

    - ``render_mode``: ``None``, ``"human"`` (a pygame window) or
      ``"rgb_array"`` (a floor plan as an ``(H, W, 3)`` uint8 array, no display
      needed).
    - ``start_room``: ``None`` for a random start, or a room 0-5.

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/Rooms-v0")
    >>> obs, info = env.reset(seed=0, options={"start_room": 1})
    >>> obs, info["action_mask"].tolist()
    (1, [0, 0, 0, 1, 0, 1])
    >>> obs, reward, terminated, truncated, info = env.step(5)
    >>> obs, reward, terminated, truncated
    (5, 100.0, True, False)

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    window_title = "gymlab: Rooms"

    def __init__(self, render_mode: str | None = None, start_room: int | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if start_room is not None and start_room not in range(N_ROOMS):
            raise ValueError(f"start_room must be None or a room 0..{N_ROOMS - 1}, got {start_room!r}")
        self.render_mode = render_mode
        self.start_room = start_room
        self.observation_space = spaces.Discrete(N_ROOMS)
        self.action_space = spaces.Discrete(N_ROOMS)

        self.door = np.zeros((N_ROOMS, N_ROOMS), dtype=np.int8)
        for a, b in DOORS:
            self.door[a, b] = self.door[b, a] = 1
        # --8<-- [start:rooms-rewards]
        # The lecture's R: 100 into room 5, 0 through other doors, -1 with no door.
        self.R = np.where(self.door == 1, 0.0, -1.0)
        self.R[self.door[:, OUTSIDE] == 1, OUTSIDE] = 100.0
        # P[s][a] = [(prob, next_state, reward, terminated)]; a move with no door stays put.
        self.P = {
            s: {
                a: [(1.0, a if self.door[s, a] else s, float(self.R[s, a]), bool(self.door[s, a] and a == OUTSIDE))]
                for a in range(N_ROOMS)
            }
            for s in range(N_ROOMS)
        }
        # --8<-- [end:rooms-rewards]
        self.room: int | None = None
        self._last = None  # (from_room, reward) of the last step, for the picture
        self._return = 0.0
        self._steps = 0

    def action_mask(self, room: int) -> np.ndarray:
        return self.door[room].copy()

    def _info(self) -> dict:
        assert self.room is not None, "reset() first"  # (Gymnasium's OrderEnforcing says so before we are asked)
        return {"prob": 1.0, "action_mask": self.action_mask(self.room)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        start = (options or {}).get("start_room", self.start_room)
        if start is None:
            start = int(self.np_random.integers(N_ROOMS))
        elif start not in range(N_ROOMS):
            raise ValueError(f"start_room must be a room 0..{N_ROOMS - 1}, got {start!r}")
        self.room, self._last, self._return, self._steps = int(start), None, 0.0, 0
        if self.render_mode == "human":
            self.render()
        return self.room, self._info()

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be a room 0..{N_ROOMS - 1}, got {action!r}")
        _, next_room, reward, terminated = self.P[self.room][int(action)][0]
        self._last = (self.room, reward)
        self.room = int(next_room)
        self._return += reward
        self._steps += 1
        if self.render_mode == "human":
            self.render()
        return self.room, reward, terminated, False, self._info()

    # ------------------------------------------------------------------ rendering
    # The floor plan, on a 100-pixel grid (column, row):
    #   row 0:  [0] [4]  outside
    #   row 1:  [2] [3] [1]
    # and outside (room 5) all around.
    _CELL = 100
    _ORIGIN = (40, 70)
    _CELLS = {0: (0, 0), 4: (1, 0), 2: (0, 1), 3: (1, 1), 1: (2, 1)}
    _SIZE = (380, 320)  # width, height

    def _door_rect(self, a: int, b: int):
        """The gap a door cuts in the wall between rooms a and b (b may be 5)."""
        c, o = self._CELL, self._ORIGIN
        ca, ra = self._CELLS[a]
        if b == OUTSIDE:  # 4 opens upward, 1 opens to the right
            if a == 4:
                return (o[0] + ca * c + c // 2 - 15, o[1] + ra * c, 30, 6)
            return (o[0] + (ca + 1) * c - 6, o[1] + ra * c + c // 2 - 15, 6, 30)
        cb, rb = self._CELLS[b]
        if ra == rb:  # side by side: a vertical wall
            x = o[0] + max(ca, cb) * c
            return (x - 6, o[1] + ra * c + c // 2 - 15, 12, 30)
        y = o[1] + max(ra, rb) * c  # one above the other: a horizontal wall
        return (o[0] + ca * c + c // 2 - 15, y - 6, 30, 12)

    def _room_centre(self, room: int):
        if room == OUTSIDE:
            return (self._ORIGIN[0] + 2 * self._CELL + self._CELL // 2, self._ORIGIN[1] + self._CELL // 2 + 18)
        col, row = self._CELLS[room]
        return (self._ORIGIN[0] + col * self._CELL + self._CELL // 2, self._ORIGIN[1] + row * self._CELL + self._CELL // 2)

    def _draw_frame(self) -> np.ndarray:
        pygame = import_pygame()
        pygame.font.init()
        grass, floor, wall, ink = (120, 180, 100), (235, 222, 190), (60, 50, 40), (30, 30, 30)
        surf = pygame.Surface(self._SIZE)
        surf.fill(grass)
        c, o = self._CELL, self._ORIGIN
        for room, (col, row) in self._CELLS.items():
            rect = pygame.Rect(o[0] + col * c, o[1] + row * c, c, c)
            surf.fill(floor, rect)
            pygame.draw.rect(surf, wall, rect, width=6)
        for a, b in DOORS:
            if a != b:
                surf.fill(floor, pygame.Rect(self._door_rect(a, b)))
        big, small = pygame.font.Font(None, 40), pygame.font.Font(None, 24)
        for room in range(N_ROOMS - 1):
            label = big.render(str(room), True, ink)
            x, y = self._room_centre(room)
            surf.blit(label, label.get_rect(center=(x, y - 25)))
        x, y = self._room_centre(OUTSIDE)
        label = small.render("5: outside", True, ink)
        surf.blit(label, label.get_rect(center=(x, y - 40)))
        if self.room is not None:
            pygame.draw.circle(surf, (200, 40, 40), self._room_centre(self.room), 14)
            last = "" if self._last is None else f"   last: {self._last[0]}->{self.room} ({self._last[1]:+g})"
            status = small.render(f"step {self._steps}   return {self._return:g}{last}", True, ink)
            surf.blit(status, (10, 12))
        return np.transpose(pygame.surfarray.array3d(surf), (1, 0, 2)).copy()
