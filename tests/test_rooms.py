"""The 6-room world is the lecture's, door for door and reward for reward."""

import gymnasium as gym
import numpy as np
import pytest

from gymlab import envs  # noqa: F401  (registers gymlab/*)

# The lecture's reward table R (seed 001), row = from-room, column = to-room.
LECTURE_R = np.array([
    [-1, -1, -1, -1, 0, -1],
    [-1, -1, -1, 0, -1, 100],
    [-1, -1, -1, 0, -1, -1],
    [-1, 0, 0, -1, 0, -1],
    [0, -1, -1, 0, -1, 100],
    [-1, 0, -1, -1, 0, 100],
])


@pytest.mark.parametrize("room", range(6))
@pytest.mark.parametrize("action", range(6))
def test_step_follows_the_lecture(room, action):
    env = gym.make("gymlab/Rooms-v0")
    obs, info = env.reset(seed=0, options={"start_room": room})
    assert obs == room
    assert info["action_mask"].dtype == np.int8
    assert info["action_mask"].tolist() == (LECTURE_R[room] >= 0).astype(int).tolist()
    obs, reward, terminated, truncated, info = env.step(action)
    assert reward == LECTURE_R[room, action]
    door = LECTURE_R[room, action] >= 0
    assert obs == (action if door else room)  # no door: stay put
    assert terminated == (door and action == 5)
    assert not truncated
    assert info["action_mask"].tolist() == (LECTURE_R[obs] >= 0).astype(int).tolist()
    # The published transition table agrees with step().
    assert env.unwrapped.P[room][action] == [(1.0, obs, reward, terminated)]


def test_random_start_covers_every_room():
    env = gym.make("gymlab/Rooms-v0")
    starts = {env.reset(seed=s)[0] for s in range(60)}
    assert starts == set(range(6))


def test_start_room_argument():
    env = gym.make("gymlab/Rooms-v0", start_room=2)
    assert {env.reset(seed=s)[0] for s in range(10)} == {2}
    with pytest.raises(ValueError, match="start_room"):
        gym.make("gymlab/Rooms-v0", start_room=6)


def test_time_limit_truncates():
    env = gym.make("gymlab/Rooms-v0", start_room=2)
    env.reset(seed=0)
    for _ in range(env.spec.max_episode_steps):
        *_, terminated, truncated, _ = env.step(0)  # no door from 2 to 0: stays forever
    assert truncated and not terminated


def test_make_with_module_prefix():
    env = gym.make("envs:gymlab/Rooms-v0")
    assert env.unwrapped.__class__.__name__ == "RoomsEnv"
