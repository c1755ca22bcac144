"""Implicit feedback: which movies will a user watch next?

Treats every rating of 4 stars or more in the bundled MovieLens data as a
"watched and liked" event, holds out 20% of each user's events, trains
implicit ALS and BPR, and compares their ranking quality with a popularity
baseline.

    python examples/implicit_feedback.py
"""

import numpy as np

import mf

ml = mf.datasets.load_movielens()
liked = ml.ratings.subset(ml.ratings.values >= 4)
train, test = mf.split.user_holdout(liked, test_size=0.2, random_state=0)
print(f"{train.nnz:,} training and {test.nnz:,} held-out events of {train.n_users} users")


class Popularity:
    """Recommends the most-watched movies the user has not seen."""

    def __init__(self, data):
        self.data, self.counts = data, data.item_counts().astype(float)

    def recommend(self, users, n=10, exclude_seen=True):
        csr = self.data.to_csr()
        rows = self.data.user_index(users)
        scores = np.tile(self.counts, (rows.size, 1))
        for k, u in enumerate(rows):
            scores[k, csr.indices[csr.indptr[u]:csr.indptr[u + 1]]] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        return self.data.item_ids[top], np.take_along_axis(scores, top, axis=1)


models = {
    "popularity": Popularity(train),
    "implicit ALS": mf.ImplicitALS(factors=64, iterations=15, random_state=0).fit(train),
    "BPR": mf.BPR(factors=64, epochs=100, random_state=0).fit(train),
}
for name, model in models.items():
    scores = mf.evaluate.ranking(model, train, test, k=10)
    print(f"{name:>13}: precision@10 {scores['precision']:.3f}  ndcg@10 {scores['ndcg']:.3f}  "
          f"map@10 {scores['map']:.3f}")

als = models["implicit ALS"]
print("\nNext for user 1:", [ml.title(m) for m in als.recommend(1, n=3)[0]])
print("Like Toy Story:", [ml.title(m) for m in als.similar_items(1, n=3)[0]])
