"""Mini-batch Adam for biased matrix factorisation with lazy (sparse) moments.

Each batch's loss is the mean over its ratings of
``(r - r_hat)^2 + reg * (|p_u|^2 + |q_i|^2) + reg_bias * (b_u^2 + b_i^2)``.
Only the rows touched by a batch get their moments and parameters updated
(as in lazy Adam): untouched rows keep their moments instead of decaying.
The step count ``t`` used for bias correction is global. Ratings are fed
block by block of a user-group x item-group grid (blocks in random order,
ratings shuffled within each block), which keeps the touched rows in cache.
"""

import numpy as np
from numba import njit

_FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _apply_rows(touched, n_touched, W, G, M, V, bias, gb, mb, vb, lr_t, beta1, beta2, eps, fit_bias, mark):
    k = W.shape[1]
    one = np.float32(1.0)
    for q in range(n_touched):
        r = touched[q]
        mark[r] = -1
        # Four simple loops (one array written in each) so they vectorise.
        for f in range(k):
            M[r, f] = beta1 * M[r, f] + (one - beta1) * G[r, f]
        for f in range(k):
            V[r, f] = beta2 * V[r, f] + (one - beta2) * G[r, f] * G[r, f]
        for f in range(k):
            W[r, f] -= lr_t * M[r, f] / (np.sqrt(V[r, f]) + eps)
        for f in range(k):
            G[r, f] = 0.0
        if fit_bias:
            g = gb[r]
            m = beta1 * mb[r] + (one - beta1) * g
            v = beta2 * vb[r] + (one - beta2) * g * g
            mb[r] = m
            vb[r] = v
            bias[r] -= lr_t * m / (np.sqrt(v) + eps)
            gb[r] = 0.0


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def adam_epoch(users, items, values, ptr, block_order, batch_size, P, Q, user_bias, item_bias, global_mean, lr, beta1,
               beta2, eps, reg, reg_bias, fit_bias, state, step):
    """One epoch of mini-batches; returns (sum of squared errors, new step).

    Ratings are visited block by block (``ptr`` delimits blocks of the
    rating arrays, ``block_order`` is the order of the blocks), and cut into
    consecutive mini-batches of ``batch_size``. ``state`` holds the Adam
    buffers: (MP, VP, GP, MQ, VQ, GQ, mbu, vbu, gbu, mbi, vbi, gbi,
    touched_users, touched_items, mark_users, mark_items); gradients are
    zero and marks -1 between calls.
    """
    MP, VP, GP, MQ, VQ, GQ, mbu, vbu, gbu, mbi, vbi, gbi, tu, ti, mark_u, mark_i = state
    k = P.shape[1]
    n = ptr[-1] - ptr[0]
    last = n - (n - 1) // batch_size * batch_size
    total = 0.0
    seen = 0
    nu = 0
    ni = 0
    for q in range(block_order.size):
        blk = block_order[q]
        for p in range(ptr[blk], ptr[blk + 1]):
            size = batch_size if n - seen > last else last
            scale = np.float32(2.0 / size)
            u = users[p]
            i = items[p]
            if mark_u[u] < 0:
                mark_u[u] = nu
                tu[nu] = u
                nu += 1
            if mark_i[i] < 0:
                mark_i[i] = ni
                ti[ni] = i
                ni += 1
            dot = np.float32(0.0)
            for f in range(k):
                dot += P[u, f] * Q[i, f]
            e = values[p] - (global_mean + user_bias[u] + item_bias[i] + dot)
            total += e * e
            for f in range(k):
                pf = P[u, f]
                qf = Q[i, f]
                GP[u, f] += scale * (reg * pf - e * qf)
                GQ[i, f] += scale * (reg * qf - e * pf)
            if fit_bias:
                gbu[u] += scale * (reg_bias * user_bias[u] - e)
                gbi[i] += scale * (reg_bias * item_bias[i] - e)
            seen += 1
            if seen % batch_size == 0 or seen == n:
                step += 1
                lr_t = np.float32(lr * np.sqrt(1.0 - np.float64(beta2) ** step) / (1.0 - np.float64(beta1) ** step))
                _apply_rows(tu, nu, P, GP, MP, VP, user_bias, gbu, mbu, vbu, lr_t, beta1, beta2, eps, fit_bias,
                            mark_u)
                _apply_rows(ti, ni, Q, GQ, MQ, VQ, item_bias, gbi, mbi, vbi, lr_t, beta1, beta2, eps, fit_bias,
                            mark_i)
                nu = 0
                ni = 0
    return total, step
