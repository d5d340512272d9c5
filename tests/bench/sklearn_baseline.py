#!/usr/bin/python3
"""The outside check of `sentiment baseline`: scikit-learn's TF-IDF (word 1-2-grams) and
LogisticRegression on the same split, with tapegrad's tokenizer (models/data/text.cpp).

  /usr/bin/python3 tests/bench/sklearn_baseline.py [--train FILE] [--valid FILE]

Defaults: ../shared/data/airline-sentiment/{train,valid}.csv. C is chosen on a stratified
held-out 10% of the training split (seed 1), never on valid; the model is then refitted on
all of train and scored once on valid (accuracy and macro-F1, as tapegrad's metrics).
Never run in CI and not a dependency of the program: it needs Debian's python3-sklearn
(run it with /usr/bin/python3; a pyenv python3 on PATH may lack it). Exits 3 when
scikit-learn is missing, 2 when the data is.
"""
import argparse
import csv
import os
import re
import sys

try:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    import sklearn
except ImportError:
    print("sklearn_baseline.py: scikit-learn is missing (apt-get install python3-sklearn, "
          "then run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(3)

MAX_TOKENS = 48
LABELS = {"negative": 0, "neutral": 1, "positive": 2}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "airline-sentiment")
# tapegrad's tokenizer: a URL up to the next ASCII whitespace is <url>; else a maximal
# run of [A-Za-z0-9'] lowercased; every other byte separates tokens; at most 48 tokens.
TOKEN_RE = re.compile(rb"(?i)(https?://[^ \t\n\r\v\f]*)|((?:(?!https?://)[A-Za-z0-9'])+)")  # pytorch_reference.py's


def tokenize(text):
    tokens = []
    for match in TOKEN_RE.finditer(text.encode("utf-8")):
        if len(tokens) == MAX_TOKENS:
            break
        tokens.append("<url>" if match.group(1) is not None else match.group(2).lower().decode("ascii"))
    return tokens or ["<unk>"]


def load(path):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["text"])
            labels.append(LABELS[row["airline_sentiment"]])
    return texts, labels


def fit(texts, labels, c):
    vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, 2))
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(vectorizer.fit_transform(texts), labels)
    return lambda xs: model.predict(vectorizer.transform(xs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=os.path.join(DATA, "train.csv"))
    parser.add_argument("--valid", default=os.path.join(DATA, "valid.csv"))
    args = parser.parse_args()
    for path in (args.train, args.valid):
        if not os.path.exists(path):
            print(f"sklearn_baseline.py: {path} does not exist", file=sys.stderr)
            sys.exit(2)
    train_x, train_y = load(args.train)
    valid_x, valid_y = load(args.valid)
    fit_x, held_x, fit_y, held_y = train_test_split(train_x, train_y, test_size=0.1, random_state=1, stratify=train_y)
    scores = {c: accuracy_score(held_y, fit(fit_x, fit_y, c)(held_x)) for c in (1, 3, 10, 30, 100)}
    best_c = max(scores, key=scores.get)
    predicted = fit(train_x, train_y, best_c)(valid_x)
    print(f"scikit-learn {sklearn.__version__}: TF-IDF word 1-2-grams + LogisticRegression")
    print("held-out 10% of train, accuracy by C: " + ", ".join(f"C={c}: {s:.4f}" for c, s in scores.items()))
    print(f"chosen C={best_c}; valid: accuracy {accuracy_score(valid_y, predicted):.4f}, "
          f"macro-F1 {f1_score(valid_y, predicted, average='macro'):.4f}")


if __name__ == "__main__":
    main()
