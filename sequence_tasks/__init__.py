"""Supervised sequence models on the recurrent backbone the recurrent policies share.

The lecture's experiments (sine prediction, wave generation with teacher
forcing, a character-level language model) land here with the sequence-tasks
issue; until then the package only reserves its name in the distribution.
"""
