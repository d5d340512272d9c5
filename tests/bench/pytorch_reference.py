#!/usr/bin/python3
"""PyTorch reference for bench_sentiment: the same work, in PyTorch 1.13.

It trains the canonical flagship model (Embedding 100 -> LSTM 128 -> pooling -> Linear 3;
Adam 2e-3, gradient-norm clipping at 5, batch 64) for the same warm-up and timed batches,
times inference the same way, and prints one JSON object with the same keys as
bench_sentiment (see tests/bench/README.md). Never run in CI: it needs Debian's
python3-torch (run it with /usr/bin/python3; a pyenv python3 on PATH has no torch).

  /usr/bin/python3 tests/bench/pytorch_reference.py [--train FILE] [--pooling attention|last|mean]
      [--padding batch|48] [--packed] [--threads N] [--warmup N] [--batches N] [--seed N]
      [--latency-tweets N]
  /usr/bin/python3 tests/bench/pytorch_reference.py --self-test   # tokenizer + vocabulary vs the fixtures

The text pipeline is tapegrad's (models/data/text.cpp): a URL (http:// or https://, any case,
up to the next ASCII whitespace) is <url>; otherwise a token is a maximal run of
[A-Za-z0-9'] lowercased, every other byte (non-ASCII ones too) separating tokens; at
most 48 tokens; the vocabulary is the training split's tokens seen at least twice, by
descending count then byte order, after <pad> (0) and <unk> (1); a text without tokens
is one <unk>. It is checked against ../shared/fixtures when they are present.
Timing excludes tokenizing and building the padded batches, as in bench_sentiment.
"""
import argparse
import collections
import csv
import json
import math
import os
import re
import resource
import sys
import time

MAX_TOKENS = 48
BATCH_SIZE = 64
LABELS = {"negative": 0, "neutral": 1, "positive": 2}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
SHARED_TRAIN = os.path.join(SHARED, "data", "airline-sentiment", "train.csv")
FIXTURES = os.path.join(SHARED, "fixtures")


class BenchError(Exception):
    pass


# ---- the text pipeline (models/data/text.cpp) ---------------------------------------------

# At each position: a URL if one starts here, else a run of token bytes that stops where
# a URL starts ("seehttp://x" -> see <url>); any other byte is skipped.
TOKEN_RE = re.compile(rb"(?i)(https?://[^ \t\n\r\v\f]*)|((?:(?!https?://)[A-Za-z0-9'])+)")


def tokenize(text, max_tokens=MAX_TOKENS):
    tokens = []
    for match in TOKEN_RE.finditer(text.encode("utf-8")):
        if len(tokens) == max_tokens:
            break
        tokens.append("<url>" if match.group(1) is not None else match.group(2).lower().decode("ascii"))
    return tokens


def build_vocabulary(texts, min_count=2):
    counts = collections.Counter()
    for text in texts:
        counts.update(tokenize(text))
    kept = sorted(((t, c) for t, c in counts.items() if c >= min_count), key=lambda tc: (-tc[1], tc[0].encode()))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, _ in kept:
        vocab[token] = len(vocab)
    return vocab, counts


def encode(text, vocab):
    return [vocab.get(token, 1) for token in tokenize(text)] or [1]


def unescape_case(field):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[m.group(1)], field)


def check_tokenizer_cases(path):
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    checked = 0
    for number, line in enumerate(lines, 1):
        if number == 1 or line == "":
            continue
        text, _, expected = line.rstrip("\r").partition("\t")
        got = tokenize(unescape_case(text))
        want = expected.split(" ") if expected else []
        if got != want:
            raise BenchError(f"{path}:{number}: tokenizer gives {got}, the fixture says {want}")
        checked += 1
    return checked


def check_vocabulary(vocab, counts, path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    if len(rows) != len(vocab):
        raise BenchError(f"{path}: the fixture has {len(rows)} entries, this vocabulary {len(vocab)}")
    for (number, (idx, token, count)), (mine, my_id) in zip(enumerate(rows, 1), vocab.items()):
        if int(idx) != my_id or token != mine or (my_id > 1 and int(count) != counts[mine]):
            raise BenchError(f"{path}:{number}: fixture {idx} {token} {count}, mine {my_id} {mine} {counts[mine]}")
    return len(rows)


def load_labelled_csv(path):
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise BenchError(f"{path}: empty file")
            for column in ("text", "airline_sentiment"):
                if column not in header:
                    raise BenchError(f"{path}:1: no column named {column!r} (header: {', '.join(header)})")
            text_at, label_at = header.index("text"), header.index("airline_sentiment")
            texts, labels = [], []
            for row in reader:
                if len(row) != len(header):
                    raise BenchError(f"{path}:{reader.line_num}: {len(row)} fields, the header has {len(header)}")
                if row[label_at] not in LABELS:
                    raise BenchError(f"{path}:{reader.line_num}: unknown label {row[label_at]!r}")
                texts.append(row[text_at])
                labels.append(LABELS[row[label_at]])
    except UnicodeDecodeError as e:
        raise BenchError(f"{path}: not UTF-8 ({e})") from None
    except OSError as e:
        raise BenchError(f"{path}: {e.strerror}") from None
    if not texts:
        raise BenchError(f"{path}: no tweets")
    return texts, labels


def self_test(data_path):
    cases = os.path.join(FIXTURES, "tokenizer-cases.tsv")
    vocab_fixture = os.path.join(FIXTURES, "train-vocab.tsv")
    if not os.path.exists(cases):
        raise BenchError(f"{cases} is absent: nothing to check the tokenizer against")
    print(f"tokenizer: {check_tokenizer_cases(cases)} fixture cases match")
    if os.path.exists(vocab_fixture) and os.path.exists(data_path):
        texts, _ = load_labelled_csv(data_path)
        vocab, counts = build_vocabulary(texts)
        print(f"vocabulary: {check_vocabulary(vocab, counts, vocab_fixture)} entries match {vocab_fixture}")


# ---- the machine ------------------------------------------------------------------------

def own_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_busy_seconds():
    with open("/proc/stat") as f:
        fields = [float(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Stopwatch:
    def __init__(self):
        self.wall, self.cpu, self.busy = time.perf_counter(), own_cpu_seconds(), machine_busy_seconds()

    def elapsed(self):
        wall, cpu = time.perf_counter() - self.wall, own_cpu_seconds() - self.cpu
        capacity = wall * os.cpu_count()
        foreign = max(0.0, 100 * ((machine_busy_seconds() - self.busy) - cpu) / capacity) if capacity > 0 else 0.0
        return {"wall_s": wall, "cpu_s": cpu, "foreign_cpu_percent": foreign}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def forward_flops(real_tokens, tweets, pooling, E=100, H=128, C=3):
    """Useful forward FLOPs, as bench_sentiment.cpp counts them (see the formula there)."""
    per_token = 2 * 4 * H * (E + H)
    if pooling == "attention":
        per_token += 2 * H * H + 4 * H
    elif pooling == "mean":
        per_token += 2 * H
    return per_token * real_tokens + 2 * H * C * tweets


def percentile(values, p):
    values = sorted(values)
    rank = math.ceil(p / 100 * len(values))
    return values[min(max(rank, 1), len(values)) - 1]


# ---- the model and the work (needs torch) -----------------------------------------------

def run(args):
    try:
        import torch
        import torch.nn.functional as F
        from torch import nn
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    except ImportError:
        print(f"pytorch_reference.py: PyTorch is not installed for {sys.executable}; install Debian's "
              "python3-torch and run this with /usr/bin/python3", file=sys.stderr)
        return 3

    class Classifier(nn.Module):
        """Embedding(V, 100) -> LSTM(128) -> pooling -> Linear(128, 3), the fixtures' semantics."""

        def __init__(self, vocab_size, pooling, packed, E=100, H=128, C=3):
            super().__init__()
            self.pooling, self.packed = pooling, packed
            self.embedding = nn.Embedding(vocab_size, E, padding_idx=0)
            self.lstm = nn.LSTM(E, H, batch_first=True)
            if pooling == "attention":
                self.attention = nn.Module()
                self.attention.proj = nn.Linear(H, H)
                self.attention.context = nn.Parameter(torch.empty(H).uniform_(-H ** -0.5, H ** -0.5))
            self.classifier = nn.Linear(H, C)

        def forward(self, ids, lengths, mask):
            B, T = ids.shape
            x = self.embedding(ids)  # (B,T,E)
            if self.packed:
                out, (h_n, _) = self.lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
                if self.pooling == "last":
                    return self.classifier(h_n[-1])
                states, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
            else:
                states, _ = self.lstm(x)  # padding follows the real tokens, so it never reaches them
                if self.pooling == "last":
                    return self.classifier(states[torch.arange(B), lengths - 1])
            if self.pooling == "attention":
                u = torch.tanh(self.attention.proj(states))  # (B,T,H)
                e = (u @ self.attention.context).masked_fill(~mask, float("-inf"))  # (B,T)
                alpha = torch.softmax(e, dim=1)
                s = torch.bmm(alpha.unsqueeze(1), states).squeeze(1)
            else:  # mean over the real positions
                s = (states * mask.unsqueeze(2)).sum(1) / lengths.unsqueeze(1).to(states.dtype)
            return self.classifier(s)

    def make_batch(seqs, labels, rows, pad_to):
        T = pad_to or max(len(seqs[r]) for r in rows)
        ids = torch.zeros(len(rows), T, dtype=torch.int64)
        for b, r in enumerate(rows):
            ids[b, : len(seqs[r])] = torch.tensor(seqs[r], dtype=torch.int64)
        lengths = torch.tensor([len(seqs[r]) for r in rows], dtype=torch.int64)
        mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
        return ids, lengths, mask, torch.tensor([labels[r] for r in rows], dtype=torch.int64)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data_path = args.train or SHARED_TRAIN
    if not os.path.exists(data_path):
        raise BenchError(f"{data_path} is absent: pass --train FILE (bench_sentiment --write-data FILE writes "
                         "the built-in tweets)")
    texts, labels = load_labelled_csv(data_path)
    cases = os.path.join(FIXTURES, "tokenizer-cases.tsv")
    if os.path.exists(cases):
        check_tokenizer_cases(cases)
    vocab, counts = build_vocabulary(texts)
    vocab_fixture = os.path.join(FIXTURES, "train-vocab.tsv")
    if os.path.exists(vocab_fixture) and os.path.abspath(data_path) == os.path.abspath(SHARED_TRAIN):
        check_vocabulary(vocab, counts, vocab_fixture)
    seqs = [encode(t, vocab) for t in texts]
    pad_to = 0 if args.padding == "batch" else MAX_TOKENS
    n = len(seqs)
    batches_per_epoch = (n + BATCH_SIZE - 1) // BATCH_SIZE
    if args.batches < 1 or args.warmup + args.batches > batches_per_epoch:
        raise BenchError(f"--warmup {args.warmup} + --batches {args.batches} must be between 1 and the "
                         f"{batches_per_epoch} batches of one epoch")

    model = Classifier(len(vocab), args.pooling, args.packed)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(n, generator=generator).tolist()
    used = args.warmup + args.batches
    train_batches = [make_batch(seqs, labels, order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE], pad_to) for i in range(used)]

    # ---- training: one optimiser step per batch, as the tapegrad trainer does
    correct, loss_sum = 0, 0.0
    timer = None
    for i, (ids, lengths, mask, y) in enumerate(train_batches):
        if i == args.warmup:
            timer = Stopwatch()
        model.train()
        optimizer.zero_grad()
        logits = model(ids, lengths, mask)
        loss = F.cross_entropy(logits, y)
        loss_sum += loss.item() * len(y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        correct += int((logits.argmax(1) == y).sum())
    train = timer.elapsed()
    rss_after_training = peak_rss_mb()
    timed = train_batches[args.warmup:]
    timed_tweets = sum(len(b[3]) for b in timed)
    timed_tokens = sum(int(b[1].sum()) for b in timed)

    # ---- inference: evaluation mode, no autograd, file order in batches of 64; then batch 1
    model.eval()
    checksum = 0
    with torch.no_grad():
        infer_batches = [make_batch(seqs, labels, range(i, min(i + BATCH_SIZE, n)), pad_to) for i in range(0, n, BATCH_SIZE)]
        for ids, lengths, mask, _ in infer_batches[:3]:
            checksum += int((model(ids, lengths, mask).argmax(1) == 2).sum())
        timer = Stopwatch()
        for ids, lengths, mask, _ in infer_batches:
            checksum += int((model(ids, lengths, mask).argmax(1) == 2).sum())
        infer = timer.elapsed()
        warm_singles = 20
        singles = [make_batch(seqs, labels, [i], pad_to) for i in range(min(args.latency_tweets + warm_singles, n))]
        latencies = []
        for i, (ids, lengths, mask, _) in enumerate(singles):
            t0 = time.perf_counter()
            checksum += int(model(ids, lengths, mask).argmax(1)[0] == 2)
            if i >= warm_singles:
                latencies.append(1e3 * (time.perf_counter() - t0))
    all_tokens = sum(len(s) for s in seqs)

    train_rate = timed_tweets / train["wall_s"]
    result = {
        "framework": "pytorch", "torch_version": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "pooling": args.pooling, "padding": args.padding, "packed": args.packed, "threads": args.threads,
        "warmup_batches": args.warmup, "batches_timed": args.batches, "batch_size": BATCH_SIZE,
        "batches_per_epoch": batches_per_epoch, "tweets": n, "vocab_size": len(vocab),
        "data": os.path.normpath(data_path), "seed": args.seed,
        "seconds_per_epoch": n / train_rate, "train_tweets_per_s": train_rate,
        "seconds_per_epoch_cpu": n / timed_tweets * train["cpu_s"],
        "train_wall_s": train["wall_s"], "train_cpu_s": train["cpu_s"],
        "train_foreign_cpu_percent": train["foreign_cpu_percent"],
        "useful_gflops": 3 * forward_flops(timed_tokens, timed_tweets, args.pooling) / train["wall_s"] * 1e-9,
        "infer_tweets_per_s_b64": n / infer["wall_s"], "infer_tweets_per_s_b64_cpu": n / infer["cpu_s"],
        "infer_wall_s_b64": infer["wall_s"],
        "infer_cpu_s_b64": infer["cpu_s"],
        "infer_useful_gflops_b64": forward_flops(all_tokens, n, args.pooling) / infer["wall_s"] * 1e-9,
        "latency_ms_b1_p50": percentile(latencies, 50), "latency_ms_b1_p99": percentile(latencies, 99),
        "latency_tweets": len(latencies),
        "peak_rss_mb": rss_after_training, "peak_rss_mb_end": peak_rss_mb(),
        "checksum_positive_predictions": checksum,
    }
    print(json.dumps(result, indent=2))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", help="training CSV (default: the shared training split)")
    parser.add_argument("--pooling", choices=["attention", "last", "mean"], default="attention")
    parser.add_argument("--padding", choices=["batch", "48"], default="batch")
    parser.add_argument("--packed", action="store_true", help="packed sequences (no work on padding)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-tweets", type=int, default=300)
    parser.add_argument("--self-test", action="store_true", help="check the tokenizer and vocabulary, then exit")
    args = parser.parse_args()
    if args.threads < 1 or args.warmup < 1 or args.latency_tweets < 1:
        parser.error("--threads, --warmup and --latency-tweets must be at least 1")
    try:
        if args.self_test:
            self_test(args.train or SHARED_TRAIN)
            return 0
        return run(args)
    except BenchError as e:
        print(f"pytorch_reference.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
