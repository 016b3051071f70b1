"""The Pong game's physics, written once for N courts at a time.

``gymlab/Pong-v0`` (one court) and its vector env (N courts) both step through
``step_courts`` below, so they cannot drift apart: a vectorised court and a
single env seeded alike play the same game, bit for bit. The kernel is a plain
Python loop over courts, compiled by numba when it is installed (set
``NUMBA_DISABLE_JIT=1`` to step through it in a debugger).

Coordinates: the court is the unit square, x to the right, y downwards. The
agent's paddle is on the right, the scripted opponent's on the left.

All state lives in one float64 array ``s[court, column]`` (columns below), so
the compiled functions take few arguments and the Python side stays cheap.
The only randomness, the serve, is drawn in Python from each court's own
``np_random``, ``SERVES_AHEAD`` serves at a time, into ``serves[court]``, and
consumed inside the kernel; so both envs draw the same numbers in the same
order, and the generator is called once every few dozen points, not per point.
"""

from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the game runnable without it
    def njit(*args, **kwargs):
        return args[0] if args and callable(args[0]) else (lambda f: f)

# ---------------------------------------------------------------- the court
BALL_R = 0.02           # ball radius
PADDLE_HALF = 0.10      # half the paddle's height
PADDLE_W = 0.02         # paddle thickness (drawing only; the face is what the ball meets)
AGENT_X = 0.94          # x of the agent's paddle face (right)
OPP_X = 0.06            # x of the opponent's paddle face (left)
PADDLE_SPEED = 0.025    # how far a player's paddle moves in one step
SERVE_SPEED = 0.025     # ball speed at a serve (court widths per step)
SPEEDUP = 1.10          # each paddle hit multiplies the speed by this...
MAX_SPEED = 0.060       # ...up to this
MAX_SIN = 0.8           # sine of the steepest bounce, off a paddle's very edge
SERVE_MAX_SIN = 0.5     # sine of the steepest serve

STAY, UP, DOWN = 0, 1, 2

# ---------------------------------------------------------------- state columns
BX, BY, VX, VY, SPEED, AY, OY = range(7)        # ball, its speed, both paddles' centres
PTS_AGENT, PTS_OPP, REWARD, DONE = range(7, 11)  # score; this step's reward; a side has won
NEXT_SERVE, AIM_U, HITS = range(11, 14)          # next serve in serves[court]; opponent's aim; hits
OPP_SPEED, OPP_REACH, OPP_AIM, SCRIPTED, TO_WIN = range(14, 19)  # settings
STEPS, MAX_STEPS, TRUNC, SKIP = range(19, 23)    # time limit (0: none); SKIP: ended, awaiting a reset
N_COLUMNS = 23
GOLDEN = 0.6180339887498949  # steps the opponent's aim round [0, 1) without repeating
N_FEATURES = 6
PIXELS = 80
SERVES_AHEAD = 32       # serves drawn at once: four uniforms each (height, side, angle, opponent's aim)


def opponent_settings(difficulty: float) -> tuple[float, float, float]:
    """The opponent's top speed; how far across the court (from its own side) it watches the
    ball; and how far off its paddle's centre it tries to hit (more: steeper returns)."""
    return 0.008 + 0.017 * difficulty, 0.35 + 0.5 * difficulty, 0.3 + 0.5 * difficulty


def new_serves(n: int) -> np.ndarray:
    return np.zeros((n, SERVES_AHEAD, 4))


def new_courts(n: int, difficulty: float, points_to_win: int, scripted: bool, max_steps: int = 0) -> np.ndarray:
    s = np.zeros((n, N_COLUMNS))
    s[:, OPP_SPEED], s[:, OPP_REACH], s[:, OPP_AIM] = opponent_settings(difficulty)
    s[:, SCRIPTED] = float(scripted)
    s[:, TO_WIN] = points_to_win
    s[:, MAX_STEPS] = max_steps
    return s


def draw_serves(s: np.ndarray, serves: np.ndarray, i: int, rng: np.random.Generator) -> None:
    """Fill court i's stock of serves from its generator."""
    serves[i] = rng.random((SERVES_AHEAD, 4))
    s[i, NEXT_SERVE] = 0.0


def refill_serves(s: np.ndarray, serves: np.ndarray, rngs) -> None:
    """Restock every court that has used up its serves (``step_courts`` says when)."""
    for i in np.flatnonzero(s[:, NEXT_SERVE] >= SERVES_AHEAD):
        draw_serves(s, serves, i, rngs[i])


def reset_court(s: np.ndarray, serves: np.ndarray, i: int, rng: np.random.Generator) -> None:
    """A new game on court i: paddles centred, 0-0, a fresh stock of serves, and the first serve."""
    s[i, AY] = s[i, OY] = 0.5
    s[i, PTS_AGENT] = s[i, PTS_OPP] = s[i, REWARD] = s[i, DONE] = 0.0
    s[i, STEPS] = s[i, TRUNC] = s[i, SKIP] = 0.0
    draw_serves(s, serves, i, rng)
    serve(s, serves, i)


@njit(cache=True)
def serve(s, serves, i):
    """Put the ball in the middle, heading left or right at a random angle."""
    k = int(s[i, NEXT_SERVE])
    s[i, NEXT_SERVE] = k + 1
    u0, u1, u2 = serves[i, k, 0], serves[i, k, 1], serves[i, k, 2]
    s[i, AIM_U], s[i, HITS] = serves[i, k, 3], 0.0
    sin = (2.0 * u2 - 1.0) * SERVE_MAX_SIN
    direction = -1.0 if u1 < 0.5 else 1.0
    s[i, BX] = 0.5
    s[i, BY] = 0.3 + 0.4 * u0
    s[i, SPEED] = SERVE_SPEED
    s[i, VX] = direction * SERVE_SPEED * math.sqrt(1.0 - sin * sin)
    s[i, VY] = SERVE_SPEED * sin


@njit(cache=True)
def _move_paddle(y, action, speed):
    if action == UP:
        y -= speed
    elif action == DOWN:
        y += speed
    return min(max(y, PADDLE_HALF), 1.0 - PADDLE_HALF)


@njit(cache=True)
def _reflect(y):
    """Fold a y that left the court back in off the top or bottom wall."""
    if y < BALL_R:
        return BALL_R + (BALL_R - y)
    if y > 1.0 - BALL_R:
        return (1.0 - BALL_R) - (y - (1.0 - BALL_R))
    return y


@njit(cache=True)
def _bounce_off_paddle(s, i, y_hit, paddle_y, ball_x, away):
    """If the ball meets the paddle at height y_hit, send it back (``away`` = +1 to the
    right, -1 to the left), faster, and the steeper the further from the paddle's centre
    it hits. ``ball_x`` is where the ball's centre is when it touches the face."""
    offset = (y_hit - paddle_y) / (PADDLE_HALF + BALL_R)
    if -1.0 <= offset <= 1.0:
        speed = min(s[i, SPEED] * SPEEDUP, MAX_SPEED)
        sin = offset * MAX_SIN
        s[i, SPEED] = speed
        s[i, VX] = away * speed * math.sqrt(1.0 - sin * sin)
        s[i, VY] = speed * sin
        s[i, BX] = ball_x
        s[i, BY] = y_hit
        s[i, HITS] += 1.0


@njit(cache=True)
def step_courts(s, serves, agent, opponent, obs):
    """Advance every court one step. ``agent[i]`` is court i's agent action, ``opponent[i]``
    its opponent's, used only on courts that are not scripted. Writes ``s[:, REWARD]``
    (+1 the agent scored, -1 the opponent did), ``s[:, DONE]`` (a side won: terminated),
    ``s[:, TRUNC]`` (the time limit) and the features ``obs``. A court that ended is left
    alone (reward 0) until it is reset. Returns (courts out of serves, games ended, the
    first court whose agent action is not 0, 1 or 2), to tell the caller whether it has
    serves to draw, courts to reset, or an action to refuse: given one (-1 when none),
    no court has moved."""
    for i in range(s.shape[0]):  # checked here, before any court moves, where it costs nothing
        if agent[i] < STAY or agent[i] > DOWN:
            return 0, 0, i
    n_restock, n_ended = 0, 0
    for i in range(s.shape[0]):
        if s[i, SKIP] != 0.0:
            s[i, REWARD] = s[i, DONE] = s[i, TRUNC] = 0.0
            continue
        bx, by, vx, vy = s[i, BX], s[i, BY], s[i, VX], s[i, VY]
        # The paddles.
        s[i, AY] = _move_paddle(s[i, AY], agent[i], PADDLE_SPEED)
        if s[i, SCRIPTED] != 0.0:
            # Follow the ball once it heads this way and is within reach, aiming to meet it off
            # centre (a different spot each hit) for an angled return; else drift to the middle.
            aim = 2.0 * ((s[i, AIM_U] + GOLDEN * s[i, HITS]) % 1.0) - 1.0
            target = 0.5
            if vx < 0.0 and bx < s[i, OPP_REACH]:
                target = by - s[i, OPP_AIM] * aim * (PADDLE_HALF + BALL_R)
            move = min(max(target - s[i, OY], -s[i, OPP_SPEED]), s[i, OPP_SPEED])
            s[i, OY] = min(max(s[i, OY] + move, PADDLE_HALF), 1.0 - PADDLE_HALF)
        else:
            s[i, OY] = _move_paddle(s[i, OY], opponent[i], PADDLE_SPEED)
        # The ball flies, and bounces off the top and bottom walls.
        nx, ny = bx + vx, _reflect(by + vy)
        s[i, BX], s[i, BY] = nx, ny
        if ny != by + vy:
            s[i, VY] = -vy
        # Did it reach a paddle's face this step? Where its path (walls folded in) meets the face:
        if vx > 0.0 and bx + BALL_R < AGENT_X <= nx + BALL_R:
            y_hit = _reflect(by + vy * ((AGENT_X - BALL_R - bx) / vx))
            _bounce_off_paddle(s, i, y_hit, s[i, AY], AGENT_X - BALL_R, -1.0)
        elif vx < 0.0 and bx - BALL_R > OPP_X >= nx - BALL_R:
            y_hit = _reflect(by + vy * ((OPP_X + BALL_R - bx) / vx))
            _bounce_off_paddle(s, i, y_hit, s[i, OY], OPP_X + BALL_R, 1.0)
        # A point once the ball is wholly out; then the next serve.
        reward = 0.0
        if s[i, BX] - BALL_R > 1.0:
            reward = -1.0
            s[i, PTS_OPP] += 1.0
        elif s[i, BX] + BALL_R < 0.0:
            reward = 1.0
            s[i, PTS_AGENT] += 1.0
        s[i, REWARD] = reward
        if reward != 0.0:
            s[i, DONE] = 1.0 if max(s[i, PTS_AGENT], s[i, PTS_OPP]) >= s[i, TO_WIN] else 0.0
            serve(s, serves, i)
            if s[i, NEXT_SERVE] >= SERVES_AHEAD:
                n_restock += 1
        s[i, STEPS] += 1.0
        s[i, TRUNC] = 1.0 if 0.0 < s[i, MAX_STEPS] <= s[i, STEPS] else 0.0
        if s[i, DONE] != 0.0 or s[i, TRUNC] != 0.0:
            s[i, SKIP] = 1.0
            n_ended += 1
        write_features(s, i, obs)
    return n_restock, n_ended, -1


@njit(cache=True)
def write_features(s, i, obs):
    """Ball position and velocity, both paddles, scaled to [-1, 1]."""
    obs[i, 0] = min(max(2.0 * s[i, BX] - 1.0, -1.0), 1.0)
    obs[i, 1] = 2.0 * s[i, BY] - 1.0
    obs[i, 2] = s[i, VX] / MAX_SPEED
    obs[i, 3] = s[i, VY] / MAX_SPEED
    obs[i, 4] = 2.0 * s[i, AY] - 1.0
    obs[i, 5] = 2.0 * s[i, OY] - 1.0


@njit(cache=True)
def draw_pixels(s, frames):
    """80x80 grayscale frames (as in the pixel-Pong literature): paddles and ball white on black."""
    n, h, w = frames.shape[0], frames.shape[1], frames.shape[2]
    for i in range(n):
        frames[i] = 0
        for y_c, x0 in ((s[i, AY], AGENT_X), (s[i, OY], OPP_X - PADDLE_W)):
            r0, r1 = int((y_c - PADDLE_HALF) * h), int(math.ceil((y_c + PADDLE_HALF) * h))
            c0 = int(x0 * w)
            c1 = max(c0 + 1, int(math.ceil((x0 + PADDLE_W) * w)))
            frames[i, max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)] = 255
        r0, c0 = int((s[i, BY] - BALL_R) * h), int((s[i, BX] - BALL_R) * w)
        r1 = max(r0 + 1, int(math.ceil((s[i, BY] + BALL_R) * h)))
        c1 = max(c0 + 1, int(math.ceil((s[i, BX] + BALL_R) * w)))
        frames[i, max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)] = 255


# ---------------------------------------------------------------- a picture for people
# 3x5 pixel digits for the score.
_DIGITS = [
    "111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
    "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111",
]
_GLYPHS = np.array([[int(c) for c in d] for d in _DIGITS], dtype=bool).reshape(10, 5, 3)
WIDTH, HEIGHT = 640, 480
BACKGROUND, LINES = (16, 20, 32), (110, 115, 130)
AGENT_COLOUR, OPP_COLOUR, BALL_COLOUR = (250, 170, 60), (90, 170, 250), (245, 245, 245)


def _box(frame, x0, y0, x1, y1, colour):
    h, w = frame.shape[:2]
    r0, r1 = max(int(round(y0 * h)), 0), min(int(round(y1 * h)), h)
    c0, c1 = max(int(round(x0 * w)), 0), min(int(round(x1 * w)), w)
    frame[r0:r1, c0:c1] = colour


def _number(frame, value: int, centre_x: int, top: int, scale: int, colour):
    text = str(value)
    width = (4 * len(text) - 1) * scale
    x = centre_x - width // 2
    for ch in text:
        glyph = np.kron(_GLYPHS[int(ch)], np.ones((scale, scale), dtype=bool))
        frame[top:top + glyph.shape[0], x:x + glyph.shape[1]][glyph] = colour
        x += 4 * scale


def draw_rgb(s: np.ndarray, i: int) -> np.ndarray:
    """Court i as an (480, 640, 3) uint8 picture with the score, drawn with numpy (no display)."""
    frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[:] = BACKGROUND
    for y in np.arange(0.0, 1.0, 0.05):  # the net, dashed
        _box(frame, 0.5 - 0.002, y + 0.01, 0.5 + 0.002, y + 0.035, LINES)
    _number(frame, int(s[i, PTS_OPP]), WIDTH // 4, 16, 8, OPP_COLOUR)
    _number(frame, int(s[i, PTS_AGENT]), 3 * WIDTH // 4, 16, 8, AGENT_COLOUR)
    _box(frame, OPP_X - PADDLE_W, s[i, OY] - PADDLE_HALF, OPP_X, s[i, OY] + PADDLE_HALF, OPP_COLOUR)
    _box(frame, AGENT_X, s[i, AY] - PADDLE_HALF, AGENT_X + PADDLE_W, s[i, AY] + PADDLE_HALF, AGENT_COLOUR)
    # The ball: a disc (the court is wider on screen than tall, so scale each axis).
    cx, cy = s[i, BX] * WIDTH, s[i, BY] * HEIGHT
    rx, ry = BALL_R * WIDTH, BALL_R * HEIGHT
    r0, r1 = max(int(cy - ry), 0), min(int(cy + ry) + 1, HEIGHT)
    c0, c1 = max(int(cx - rx), 0), min(int(cx + rx) + 1, WIDTH)
    if r0 < r1 and c0 < c1:
        yy, xx = np.ogrid[r0:r1, c0:c1]
        inside = ((xx + 0.5 - cx) / rx) ** 2 + ((yy + 0.5 - cy) / ry) ** 2 <= 1.0
        frame[r0:r1, c0:c1][inside] = BALL_COLOUR
    return frame
