"""The classic Keras recommendation model, run on mf's kernels.

The model code below is the usual Keras tutorial code; only the two import
lines differ (``mf.keras`` instead of ``tensorflow.keras``).  It trains on the
MovieLens ml-latest-small ratings bundled with mf and prints the model
summary, the training history and the test RMSE.

Run: ``python examples/seed_keras_model.py``
"""

import numpy as np

from mf.datasets import load_movielens
from mf.keras.models import Model
from mf.keras.layers import Input, Embedding, Flatten, Dot, Concatenate, Dense  # noqa: F401

ratings = load_movielens().ratings          # 100,836 ratings, ids mapped to 0..n-1
num_users, num_movies = ratings.n_users, ratings.n_items
users, movies, y = ratings.user_indices, ratings.item_indices, ratings.values

order = np.random.RandomState(42).permutation(len(y))   # random 80/20 split
train, test = order[:int(0.8 * len(y))], order[int(0.8 * len(y)):]

# --- the seed model: unchanged Keras code ---------------------------------
user_input = Input(shape=(1,)); movie_input = Input(shape=(1,))
user_embedding = Embedding(num_users, 50)(user_input)
movie_embedding = Embedding(num_movies, 50)(movie_input)
user_vecs = Flatten()(user_embedding); movie_vecs = Flatten()(movie_embedding)
prod = Dot(axes=1)([user_vecs, movie_vecs])
dense = Dense(64, activation='relu')(prod)
output = Dense(1)(dense)
model = Model(inputs=[user_input, movie_input], outputs=output)
model.compile(optimizer='adam', loss='mean_squared_error')
model.summary()

history = model.fit([users[train], movies[train]], y[train], batch_size=256, epochs=5,
                    validation_data=([users[test], movies[test]], y[test]), verbose=2)
predictions = model.predict([users[test], movies[test]])
# ---------------------------------------------------------------------------

print("history:", {k: [round(v, 4) for v in vals] for k, vals in history.history.items()})
rmse = float(np.sqrt(np.mean((predictions[:, 0] - y[test]) ** 2)))
print(f"test RMSE: {rmse:.4f}")
