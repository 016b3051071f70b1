"""The supervised side of the suite: the recurrent backbone (``backbone``), the models
built on it (``models``), the data generators shared with the RL envs (``data``),
and the lecture's experiments, each one command:

    python -m sequence_tasks sine      # next-value prediction of sines, LSTM 2x51
    python -m sequence_tasks cosine    # cosine generation with a teacher-forcing schedule
    python -m sequence_tasks chars     # a character-level language model
    python -m sequence_tasks gradients # vanishing and exploding gradients, measured
    python -m sequence_tasks words     # word vectors: the rhyme's tables, SVD, word2vec against gensim
"""

# name -> (module, one line); the modules are imported only when used
EXPERIMENTS = {
    "sine": ("gymlab.sequence_tasks.sine", "the lecture's sine prediction (2x51 LSTM)"),
    "cosine": ("gymlab.sequence_tasks.cosine", "cosine generation with a teacher-forcing schedule"),
    "chars": ("gymlab.sequence_tasks.chars", "a character-level language model"),
    "gradients": ("gymlab.sequence_tasks.gradients", "vanishing and exploding gradients through time"),
    "words": ("gymlab.sequence_tasks.words", "word vectors: the rhyme's tables, SVD, word2vec against gensim"),
}
