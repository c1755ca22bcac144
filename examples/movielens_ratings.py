"""Rating prediction and recommendations on the bundled MovieLens data.

Trains biased matrix factorization with each solver on an 80/20 split, compares
the test RMSE with a bias-only baseline, recommends movies for a user, folds in
a new visitor from three ratings and explains one recommendation.

    python examples/movielens_ratings.py
"""

import mf

ml = mf.datasets.load_movielens()
train, test = mf.split.train_test_split(ml.ratings, test_size=0.2, random_state=0)
print(ml.ratings)

for solver in ("als", "sgd", "adam"):
    model = mf.MatrixFactorization(solver=solver, random_state=0).fit(train)
    print(f"{solver:>5}: test RMSE {model.score(test):.4f} in {sum(model.history_['seconds']):.1f}s")
baseline = mf.MatrixFactorization(factors=1, init_scale=0.0, epochs=5).fit(train)  # zero factors: biases only
print(f" bias: test RMSE {baseline.score(test):.4f}")

model = mf.MatrixFactorization(random_state=0).fit(train)
popular = train.item_ids[train.item_counts() >= 20]
items, scores = model.recommend(1, n=5, items=popular)
print("\nFor user 1:")
for movie, score in zip(items, scores):
    print(f"  {score:.2f}  {ml.title(movie)}")

liked, stars = [1, 260, 1196], [5.0, 4.5, 5.0]  # Toy Story, Star Wars IV and V
items, scores = model.recommend_for(liked, stars, n=5, candidates=popular)
print("\nFor a visitor who loved Toy Story and Star Wars:")
for movie, score in zip(items, scores):
    print(f"  {score:.2f}  {ml.title(movie)}")

model.partial_fit_users([100_000] * 3, liked, stars)
why = model.explain(100_000, items[0], n=3)
print(f"\nWhy {ml.title(items[0])}?")
for movie, part in zip(why.items, why.contributions):
    print(f"  {part:+.2f}  {ml.title(movie)}")
