"""Forward pass, backward pass and optimizer steps of a compiled layer graph.

A graph of Embedding / Flatten / Dot / Concatenate / Add / Multiply / Dense
layers is compiled (by :mod:`mf.keras`) into a *plan*: a small integer table of
operations over the columns of one activation matrix.  Every sample of a
mini-batch owns one column of that matrix; each tensor of the graph owns a
contiguous range of rows (``offset``, ``width``).  The kernels below run the
plan over a whole mini-batch (or many mini-batches) without returning to
Python.

Plan layout (all ``int64``):

``ops[k]``
    ``[code, out_off, out_w, a, b, c, d, e, f, g]`` with, per ``code``:

    - ``OP_EMBED``: ``a`` input index, ``b`` table offset in ``params``,
      ``c`` number of rows, ``d`` group index, ``e`` trainable flag, ``f`` 1 to
      also accumulate the squares of the per-sample gradients (see below),
      ``g`` 1 when the lookup is fused into the ``OP_DOT`` that consumes it.
    - ``OP_DOT``: ``a`` offset of the first input, ``b`` offset of the second
      input, ``c`` width of the inputs, ``d`` 1 to l2-normalise them first;
      ``e`` and ``f``: when both inputs are embedding lookups used nowhere
      else, the indices of those two ``OP_EMBED`` rows (else -1), and the dot
      product is taken straight from the table rows.
    - ``OP_CONCAT`` / ``OP_ADD`` / ``OP_MUL``: ``a`` first row and ``b``
      number of rows of ``op_inputs`` listing the inputs as ``(offset, width)``.
    - ``OP_DENSE``: ``a`` input offset, ``b`` input width, ``c`` kernel offset
      in ``params`` (row-major ``(in, units)``), ``d`` bias offset or -1,
      ``e`` activation code, ``f`` trainable flag.

``groups[g]``
    One row per weight variable: ``[offset, size, n_rows, dim, is_table,
    trainable, use_sq, mask_offset]``; ``reg[g] = (l1, l2)`` holds its
    regularisation factors.

Gradients are accumulated into ``grad``, a buffer laid out like ``params``;
only the rows of an embedding table that a batch touches are written (and
flagged in ``mask``, one byte per table row from ``mask_offset``): a row's
first touch in a batch overwrites it, so the optimizer step zeroes a table's
rows only where its dense update reads every row.

Keras (TensorFlow backend) receives the gradient of an embedding table as
``IndexedSlices``, one slice per sample.  Adam, RMSprop and Adagrad square
those slices *before* summing the slices of a row that occurs several times
in a batch, so their second moment grows by the sum of the squared
per-sample gradients, not by the square of the summed gradient.  Tables with
``use_sq`` set accumulate those squares in ``gsq`` to reproduce this (a
regularised table gets a dense gradient in Keras, where the square of the sum
applies).
"""

import numpy as np
from numba import njit, prange

OP_EMBED = 0
OP_DOT = 1
OP_CONCAT = 2
OP_ADD = 3
OP_MUL = 4
OP_DENSE = 5

ACT_LINEAR = 0
ACT_RELU = 1
ACT_SIGMOID = 2
ACT_TANH = 3

LOSS_MSE = 0
LOSS_MAE = 1
LOSS_BCE = 2
LOSS_HUBER = 3
LOSS_BCE_LOGITS = 4

OPT_SGD = 0
OPT_ADAM = 1
OPT_RMSPROP = 2
OPT_ADAGRAD = 3

# hyper[] layout per optimizer (float32):
#   SGD:     lr, momentum, nesterov
#   Adam:    lr, beta_1, beta_2, epsilon
#   RMSprop: lr, rho, momentum, epsilon, centered
#   Adagrad: lr, epsilon

BCE_EPSILON = 1e-7
NORM_EPSILON = 1e-12
TINY = np.float32(1.1754944e-38)  # smallest normal float32


_FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, error_model="numpy")
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def forward(ops, op_inputs, params, ids, rows, n, acts):
    """Run the plan forward for samples ``rows[:n]``; sample ``b`` fills ``acts[:, b]``.

    Activations are stored feature-major (one row per column of a tensor,
    one column per sample) so that the inner loops run over the batch.
    Arithmetic stays in float32, as Keras's (float64 constants would make
    the loops convert every element).
    """
    zero = np.float32(0.0)
    for k in range(ops.shape[0]):
        code = ops[k, 0]
        out = ops[k, 1]
        w = ops[k, 2]
        if code == OP_EMBED:
            if ops[k, 9]:
                continue
            inp = ops[k, 3]
            toff = ops[k, 4]
            table = params[toff:toff + ops[k, 5] * w].reshape((ops[k, 5], w))
            for b in range(n):
                r = ids[inp, rows[b]]
                for j in range(w):
                    acts[out + j, b] = table[r, j]
        elif code == OP_DOT and ops[k, 7] >= 0:
            ka = ops[k, 7]
            kc = ops[k, 8]
            width = ops[k, 5]
            ta = params[ops[ka, 4]:ops[ka, 4] + ops[ka, 5] * width].reshape((ops[ka, 5], width))
            tc = params[ops[kc, 4]:ops[kc, 4] + ops[kc, 5] * width].reshape((ops[kc, 5], width))
            for b in range(n):
                ra = ids[ops[ka, 3], rows[b]]
                rc = ids[ops[kc, 3], rows[b]]
                s = zero
                for j in range(width):
                    s += ta[ra, j] * tc[rc, j]
                acts[out, b] = s
        elif code == OP_DOT:
            a = ops[k, 3]
            c = ops[k, 4]
            width = ops[k, 5]
            for b in range(n):
                acts[out, b] = 0.0
            for j in range(width):
                for b in range(n):
                    acts[out, b] += acts[a + j, b] * acts[c + j, b]
            if ops[k, 6]:  # normalize
                for b in range(n):
                    na = 0.0
                    nc = 0.0
                    for j in range(width):
                        na += acts[a + j, b] * acts[a + j, b]
                        nc += acts[c + j, b] * acts[c + j, b]
                    acts[out, b] /= np.sqrt(max(na, NORM_EPSILON)) * np.sqrt(max(nc, NORM_EPSILON))
        elif code == OP_CONCAT:
            pos = out
            for q in range(ops[k, 3], ops[k, 3] + ops[k, 4]):
                src = op_inputs[q, 0]
                for j in range(op_inputs[q, 1]):
                    for b in range(n):
                        acts[pos + j, b] = acts[src + j, b]
                pos += op_inputs[q, 1]
        elif code == OP_ADD or code == OP_MUL:
            start = ops[k, 3]
            src = op_inputs[start, 0]
            for j in range(w):
                for b in range(n):
                    acts[out + j, b] = acts[src + j, b]
            for q in range(start + 1, start + ops[k, 4]):
                src = op_inputs[q, 0]
                for j in range(w):
                    if code == OP_ADD:
                        for b in range(n):
                            acts[out + j, b] += acts[src + j, b]
                    else:
                        for b in range(n):
                            acts[out + j, b] *= acts[src + j, b]
        else:  # OP_DENSE
            xin = ops[k, 3]
            nin = ops[k, 4]
            koff = ops[k, 5]
            boff = ops[k, 6]
            act = ops[k, 7]
            kern = params[koff:koff + nin * w].reshape((nin, w))
            for j in range(w):
                bj = params[boff + j] if boff >= 0 else zero
                w0 = kern[0, j]
                if nin == 1 and act == ACT_RELU:
                    for b in range(n):
                        acts[out + j, b] = max(bj + w0 * acts[xin, b], zero)
                    continue
                for b in range(n):
                    acts[out + j, b] = bj + w0 * acts[xin, b]
            for i in range(1, nin):
                for j in range(w):
                    wij = kern[i, j]
                    for b in range(n):
                        acts[out + j, b] += wij * acts[xin + i, b]
            for j in range(w):
                if act == ACT_RELU and nin > 1:
                    for b in range(n):
                        acts[out + j, b] = max(acts[out + j, b], zero)
                elif act == ACT_SIGMOID:
                    for b in range(n):
                        acts[out + j, b] = _sigmoid(acts[out + j, b])
                elif act == ACT_TANH:
                    for b in range(n):
                        acts[out + j, b] = np.tanh(acts[out + j, b])


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def loss_head(loss, delta, out, out_w, out_sigmoid, acts, dacts, y, rows, n, sums):
    """Loss of samples ``rows[:n]`` and its gradient with respect to the output rows.

    ``out_sigmoid`` means the output rows hold logits whose sigmoid is the
    prediction (binary cross-entropy on a sigmoid output is then computed from
    the logits, as Keras does).  Adds the summed per-sample loss, absolute
    error and squared error of the predictions to ``sums[0:3]`` and writes
    ``d(mean batch loss)/d(output)`` into ``dacts``.
    """
    scale = 1.0 / (n * out_w)
    for c in range(out_w):
        for b in range(n):
            z = acts[out + c, b]
            p = _sigmoid(z) if out_sigmoid else z
            t = y[rows[b], c]
            e = p - t
            if loss == LOSS_MSE:
                value = e * e
                d = 2.0 * e
            elif loss == LOSS_MAE:
                value = abs(e)
                d = 1.0 if e > 0.0 else (-1.0 if e < 0.0 else 0.0)
            elif loss == LOSS_HUBER:
                ae = abs(e)
                if ae <= delta:
                    value = 0.5 * e * e
                    d = e
                else:
                    value = delta * ae - 0.5 * delta * delta
                    d = delta if e > 0.0 else -delta
            elif out_sigmoid or loss == LOSS_BCE_LOGITS:  # cross-entropy from logits z
                value = max(z, 0.0) - z * t + np.log1p(np.exp(-abs(z)))
                d = _sigmoid(z) - t
            else:  # binary cross-entropy from clipped probabilities
                pc = min(max(p, BCE_EPSILON), 1.0 - BCE_EPSILON)
                value = -(t * np.log(pc) + (1.0 - t) * np.log(1.0 - pc))
                if p < BCE_EPSILON or p > 1.0 - BCE_EPSILON:
                    d = 0.0
                else:
                    d = -t / pc + (1.0 - t) / (1.0 - pc)
            sums[0] += value / out_w
            sums[1] += abs(e)
            sums[2] += e * e
            dacts[out + c, b] = d * scale


@njit(cache=True, nogil=True)
def clear_dacts(ops, dacts, n):
    """Zero the rows of ``dacts`` that :func:`backward` accumulates into for ``n`` samples
    (those of every tensor but an embedding lookup fused into its dot product, which has
    none)."""
    for k in range(ops.shape[0]):
        if ops[k, 0] != OP_EMBED or not ops[k, 9]:
            dacts[ops[k, 1]:ops[k, 1] + ops[k, 2], :n] = 0.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def backward(ops, op_inputs, groups, params, ids, rows, n, acts, dacts, grad, gsq, mask):
    """Back-propagate ``dacts`` (set on the output rows) through the plan.

    Gradients of trainable weights are added into ``grad`` (and, for tables
    flagged so, the squared per-sample gradients into ``gsq``).  A table row
    is flagged in ``mask`` when first touched, and its gradient *written*
    then: rows not flagged may hold stale values, and ``mask`` must be zero
    on entry.  ``dacts`` must be zero outside the output
    rows on entry (see :func:`clear_dacts`); it is overwritten.  Arithmetic
    stays in float32, as in :func:`forward`.
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for k in range(ops.shape[0] - 1, -1, -1):
        code = ops[k, 0]
        out = ops[k, 1]
        w = ops[k, 2]
        if code == OP_EMBED:
            if ops[k, 7] and not ops[k, 9]:
                inp = ops[k, 3]
                toff = ops[k, 4]
                gtable = grad[toff:toff + ops[k, 5] * w].reshape((ops[k, 5], w))
                touched = mask[groups[ops[k, 6], 7]:groups[ops[k, 6], 7] + ops[k, 5]]
                if ops[k, 8]:
                    sqtable = gsq[toff:toff + ops[k, 5] * w].reshape((ops[k, 5], w))
                    for b in range(n):
                        r = ids[inp, rows[b]]
                        if touched[r]:
                            for j in range(w):
                                d = dacts[out + j, b]
                                gtable[r, j] += d
                                sqtable[r, j] += d * d
                        else:
                            touched[r] = 1
                            for j in range(w):
                                d = dacts[out + j, b]
                                gtable[r, j] = d
                                sqtable[r, j] = d * d
                else:
                    for b in range(n):
                        r = ids[inp, rows[b]]
                        if touched[r]:
                            for j in range(w):
                                gtable[r, j] += dacts[out + j, b]
                        else:
                            touched[r] = 1
                            for j in range(w):
                                gtable[r, j] = dacts[out + j, b]
        elif code == OP_DOT and ops[k, 7] >= 0:
            width = ops[k, 5]
            for side in range(2):
                ka = ops[k, 7 + side]
                kc = ops[k, 8 - side]
                if not ops[ka, 7]:
                    continue
                na = ops[ka, 5]
                ga = grad[ops[ka, 4]:ops[ka, 4] + na * width].reshape((na, width))
                qa = gsq[ops[ka, 4]:ops[ka, 4] + na * width].reshape((na, width)) \
                    if ops[ka, 8] else gsq[0:0].reshape((0, width))
                tc = params[ops[kc, 4]:ops[kc, 4] + ops[kc, 5] * width].reshape(
                    (ops[kc, 5], width))
                touched = mask[groups[ops[ka, 6], 7]:groups[ops[ka, 6], 7] + na]
                in_a = ops[ka, 3]
                in_c = ops[kc, 3]
                if ops[ka, 8]:
                    for b in range(n):
                        g = dacts[out, b]
                        ra = ids[in_a, rows[b]]
                        rc = ids[in_c, rows[b]]
                        if touched[ra]:
                            for j in range(width):
                                d = g * tc[rc, j]
                                ga[ra, j] += d
                                qa[ra, j] += d * d
                        else:
                            touched[ra] = 1
                            for j in range(width):
                                d = g * tc[rc, j]
                                ga[ra, j] = d
                                qa[ra, j] = d * d
                else:
                    for b in range(n):
                        g = dacts[out, b]
                        ra = ids[in_a, rows[b]]
                        rc = ids[in_c, rows[b]]
                        if touched[ra]:
                            for j in range(width):
                                ga[ra, j] += g * tc[rc, j]
                        else:
                            touched[ra] = 1
                            for j in range(width):
                                ga[ra, j] = g * tc[rc, j]
        elif code == OP_DOT:
            a = ops[k, 3]
            c = ops[k, 4]
            width = ops[k, 5]
            if ops[k, 6]:  # normalize
                for b in range(n):
                    g = dacts[out, b]
                    na = 0.0
                    nc = 0.0
                    for j in range(width):
                        na += acts[a + j, b] * acts[a + j, b]
                        nc += acts[c + j, b] * acts[c + j, b]
                    ra = 1.0 / np.sqrt(max(na, NORM_EPSILON))
                    rc = 1.0 / np.sqrt(max(nc, NORM_EPSILON))
                    s = acts[out, b]
                    # d(a_hat . c_hat)/da = ra * (c_hat - s * a_hat), the
                    # projection term vanishing where the norm is clamped.
                    pa = s * ra if na > NORM_EPSILON else 0.0
                    pc = s * rc if nc > NORM_EPSILON else 0.0
                    for j in range(width):
                        va = acts[a + j, b]
                        vc = acts[c + j, b]
                        dacts[a + j, b] += g * ra * (vc * rc - pa * va)
                        dacts[c + j, b] += g * rc * (va * ra - pc * vc)
            else:
                for j in range(width):
                    for b in range(n):
                        g = dacts[out, b]
                        va = acts[a + j, b]
                        dacts[a + j, b] += g * acts[c + j, b]
                        dacts[c + j, b] += g * va
        elif code == OP_CONCAT:
            pos = out
            for q in range(ops[k, 3], ops[k, 3] + ops[k, 4]):
                dst = op_inputs[q, 0]
                for j in range(op_inputs[q, 1]):
                    for b in range(n):
                        dacts[dst + j, b] += dacts[pos + j, b]
                pos += op_inputs[q, 1]
        elif code == OP_ADD:
            for q in range(ops[k, 3], ops[k, 3] + ops[k, 4]):
                dst = op_inputs[q, 0]
                for j in range(w):
                    for b in range(n):
                        dacts[dst + j, b] += dacts[out + j, b]
        elif code == OP_MUL:
            start = ops[k, 3]
            count = ops[k, 4]
            for q in range(start, start + count):
                dst = op_inputs[q, 0]
                for j in range(w):
                    for b in range(n):
                        prod = dacts[out + j, b]
                        for r in range(start, start + count):
                            if r != q:
                                prod *= acts[op_inputs[r, 0] + j, b]
                        dacts[dst + j, b] += prod
        else:  # OP_DENSE
            xin = ops[k, 3]
            nin = ops[k, 4]
            koff = ops[k, 5]
            boff = ops[k, 6]
            act = ops[k, 7]
            trainable = ops[k, 8]
            kern = params[koff:koff + nin * w].reshape((nin, w))
            gkern = grad[koff:koff + nin * w].reshape((nin, w))
            if nin == 1 and act == ACT_RELU:  # one pass per unit (a Dense layer after a Dot)
                for j in range(w):
                    wj = kern[0, j]
                    sb = zero
                    sk = zero
                    for b in range(n):
                        d = dacts[out + j, b] if acts[out + j, b] > zero else zero
                        sb += d
                        sk += acts[xin, b] * d
                        dacts[xin, b] += wj * d
                    if trainable:
                        gkern[0, j] += sk
                        if boff >= 0:
                            grad[boff + j] += sb
                continue
            # dacts[out:out+w] becomes d(loss)/d(pre-activation).
            for j in range(w):
                s = zero
                if act == ACT_RELU:
                    for b in range(n):
                        d = dacts[out + j, b] if acts[out + j, b] > zero else zero
                        dacts[out + j, b] = d
                        s += d
                elif act == ACT_SIGMOID:
                    for b in range(n):
                        yv = acts[out + j, b]
                        d = dacts[out + j, b] * (yv * (one - yv))
                        dacts[out + j, b] = d
                        s += d
                elif act == ACT_TANH:
                    for b in range(n):
                        yv = acts[out + j, b]
                        d = dacts[out + j, b] * (one - yv * yv)
                        dacts[out + j, b] = d
                        s += d
                else:
                    for b in range(n):
                        s += dacts[out + j, b]
                if trainable and boff >= 0:
                    grad[boff + j] += s
            for i in range(nin):
                for j in range(w):
                    wij = kern[i, j]
                    s = zero
                    for b in range(n):
                        dz = dacts[out + j, b]
                        s += acts[xin + i, b] * dz
                        dacts[xin + i, b] += wij * dz
                    if trainable:
                        gkern[i, j] += s


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def batch_gradients(ops, op_inputs, groups, params, ids, rows, n, y, loss, delta, out, out_w,
                    out_sigmoid, acts, dacts, grad, gsq, mask):
    """Mean loss of one batch (no regularisation); its gradient is written into ``grad``,
    which (and ``mask``) must be zero on entry (see :func:`backward`)."""
    forward(ops, op_inputs, params, ids, rows, n, acts)
    sums = np.zeros(3)
    clear_dacts(ops, dacts, n)
    loss_head(loss, delta, out, out_w, out_sigmoid, acts, dacts, y, rows, n, sums)
    backward(ops, op_inputs, groups, params, ids, rows, n, acts, dacts, grad, gsq, mask)
    return sums[0] / n


@njit(cache=True, nogil=True, error_model="numpy")
def _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, lo, hi, use_sq, clear):
    """Optimizer step on ``params[lo:hi]`` with Keras's update rules.

    The gradient is ``grad`` and its square ``gsq`` (where ``use_sq``) or
    ``grad**2``; with ``clear`` both are zeroed.  Adam: :func:`_adam_row`.
    """
    # Unsigned indices let numba drop negative-index handling and vectorise.
    a = np.uint64(lo)
    z = np.uint64(hi)
    zero = np.float32(0.0)
    lr = hp[0]
    if opt == OPT_ADAM:
        _adam_row(params, grad, gsq, s1, s2, lo, hi, alpha, np.float32(1.0) - hp[1],
                  np.float32(1.0) - hp[2], hp[3], use_sq, clear)
    elif opt == OPT_SGD:
        mom = hp[1]
        nesterov = hp[2] != 0
        if mom == 0:
            for i in range(a, z):
                params[i] -= grad[i] * lr
                if clear:
                    grad[i] = zero
        else:
            for i in range(a, z):
                g = grad[i]
                if clear:
                    grad[i] = zero
                m = s1[i] * mom - g * lr
                s1[i] = m
                if nesterov:
                    params[i] += m * mom - g * lr
                else:
                    params[i] += m
    elif opt == OPT_RMSPROP:
        rho = hp[1]
        mom = hp[2]
        eps = hp[3]
        centered = hp[4] != 0
        omr = np.float32(1.0) - rho
        for i in range(a, z):
            g = grad[i]
            g2 = gsq[i] if use_sq else g * g
            if clear:
                grad[i] = zero
                if use_sq:
                    gsq[i] = zero
            v = rho * s1[i] + omr * g2
            s1[i] = v
            if centered:
                ag = rho * s3[i] + omr * g
                s3[i] = ag
                den = v - ag * ag + eps
            else:
                den = v + eps
            inc = (lr * g) / np.sqrt(den)
            if mom > 0:
                m = mom * s2[i] + inc
                s2[i] = m
                params[i] -= m
            else:
                params[i] -= inc
    else:  # OPT_ADAGRAD
        eps = hp[1]
        for i in range(a, z):
            g = grad[i]
            g2 = gsq[i] if use_sq else g * g
            if clear:
                grad[i] = zero
                if use_sq:
                    gsq[i] = zero
            acc = s1[i] + g2
            s1[i] = acc
            params[i] -= (lr * g) / np.sqrt(acc + eps)


@njit(cache=True, nogil=True, error_model="numpy")
def _penalty(params, grad, lo, hi, l1, l2, add_grad):
    """``sum(l1*|w| + l2*w**2)`` over ``params[lo:hi]``; with ``add_grad`` its gradient is
    added into ``grad``."""
    s = 0.0
    two_l2 = np.float32(2.0) * l2
    for i in range(np.uint64(lo), np.uint64(hi)):
        w = params[i]
        s += l2 * w * w + l1 * abs(w)
        if add_grad:
            grad[i] += two_l2 * w + l1 * np.float32((w > 0) - (w < 0))
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _update_table(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, dim, touched, r_lo, r_hi,
                  use_sq, dense_grad):
    """Dense step on rows ``r_lo..r_hi-1`` of a table, as Keras updates a table.

    One vectorised pass reads the gradient of every row (zero where the batch
    did not touch the row); the touched rows' gradients are zeroed after
    (all of them when ``dense_grad``, e.g. a regulariser's gradient).
    """
    # Literal flags let the compiler specialise the inlined loops.
    if use_sq:
        _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off + r_lo * dim,
                     off + r_hi * dim, True, False)
    else:
        _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off + r_lo * dim,
                     off + r_hi * dim, False, False)
    if dense_grad:
        grad[off + r_lo * dim:off + r_hi * dim] = 0.0
    for r in range(r_lo, r_hi):
        if touched[r]:
            touched[r] = 0
            lo = off + r * dim
            grad[lo:lo + dim] = 0.0
            if use_sq:
                gsq[lo:lo + dim] = 0.0


PARALLEL_ROWS = 1 << 14


@njit(cache=True, nogil=True, parallel=True)
def _update_table_parallel(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, dim, touched,
                           n_rows, use_sq, dense_grad):
    """:func:`_update_table` on blocks of rows in parallel."""
    n_blocks = (n_rows + PARALLEL_ROWS - 1) // PARALLEL_ROWS
    for c in prange(n_blocks):
        _update_table(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, dim, touched,
                      c * PARALLEL_ROWS, min((c + 1) * PARALLEL_ROWS, n_rows), use_sq,
                      dense_grad)


@njit(cache=True, nogil=True)
def _sparse_table_ok(opt, hp):
    """Whether untouched rows of an unregularised table stay unchanged in one step."""
    if opt == OPT_SGD:
        return hp[1] == 0
    return opt == OPT_ADAGRAD


LAZY_POWERS = 1024


@njit(cache=True, nogil=True, error_model="numpy")
def adam_lazy_tables(hp, t0, n_steps):
    """Tables for :func:`_adam_catch_up` over the steps after ``t0`` (float64).

    ``tab[0, i] = sum_j alpha_(t0+i+j) r1**j`` and ``tab[1, i] = sum_j
    alpha_(t0+i+j) r2**j`` over ``j = 1 .. n_steps - i``, with ``r1 =
    beta_1 / sqrt(beta_2)`` and ``r2 = beta_1 / beta_2``, so that a sum over
    steps ``t0+a+1 .. t0+b`` is ``tab[:2, a] - r**(b-a) tab[:2, b]``; rows 2-5
    hold ``r1**g``, ``r2**g``, ``beta_1**g``, ``beta_2**g`` for gaps ``g`` up
    to ``LAZY_POWERS``.  Needs ``beta_1 < beta_2`` (both ratios below 1).
    """
    b1 = np.float64(hp[1])
    b2 = np.float64(hp[2])
    r1 = b1 / np.sqrt(b2)
    r2 = b1 / b2
    tab = np.zeros((6, max(n_steps, LAZY_POWERS) + 1))
    for i in range(n_steps - 1, -1, -1):
        a = np.float64(adam_alpha(hp, t0 + i + 1))
        tab[0, i] = r1 * (a + tab[0, i + 1])
        tab[1, i] = r2 * (a + tab[1, i + 1])
    tab[2:, 0] = 1.0
    for g in range(1, LAZY_POWERS + 1):
        tab[2, g] = tab[2, g - 1] * r1
        tab[3, g] = tab[3, g - 1] * r2
        tab[4, g] = tab[4, g - 1] * b1
        tab[5, g] = tab[5, g - 1] * b2
    return tab


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _adam_catch_up(hp, params, s1, s2, lo, hi, t_from, t_to, t0, tab):
    """Apply Adam steps ``t_from + 1 .. t_to`` with a zero gradient to ``params[lo:hi]``.

    With no gradient, step ``t_from + j`` scales the moments to ``beta_1**j m``
    and ``beta_2**j v`` and moves the weight by ``alpha_(t_from + j) beta_1**j m
    / (beta_2**(j/2) sqrt(v) + epsilon)``.  The sum of those moves is
    ``m C / (sqrt(v) + kappa epsilon)`` with ``C = sum alpha beta_1**j /
    beta_2**(j/2)`` and ``kappa`` the ``C``-weighted mean of
    ``beta_2**(-j/2)``: exact for ``sqrt(v) >> epsilon`` and otherwise off by
    at most 3e-5 of the move at the default betas (the weighted spread of
    ``beta_2**(-j/2)``, second order; ``mf.keras.optimizers.Adam`` checks the
    bound for other betas).  ``tab`` comes from :func:`adam_lazy_tables` for
    the steps after ``t0``.
    """
    gap = t_to - t_from
    a = t_from - t0
    b = t_to - t0
    if gap <= LAZY_POWERS:
        p1 = tab[2, gap]
        p2 = tab[3, gap]
        d1 = np.float32(tab[4, gap])
        d2 = np.float32(tab[5, gap])
    else:
        b1 = np.float64(hp[1])
        b2 = np.float64(hp[2])
        p1 = (b1 / np.sqrt(b2)) ** gap
        p2 = (b1 / b2) ** gap
        d1 = np.float32(b1 ** gap)
        d2 = np.float32(b2 ** gap)
    c = tab[0, a] - p1 * tab[0, b]
    k = tab[1, a] - p2 * tab[1, b]
    step = np.float32(c)
    eps = np.float32(hp[3] * (k / c)) if c > 0.0 else hp[3]
    zero = np.float32(0.0)
    for i in range(np.uint64(lo), np.uint64(hi)):
        m = s1[i]
        v = s2[i]
        params[i] -= (m * step) / (np.sqrt(v) + eps)
        m *= d1
        v *= d2
        s1[i] = m if abs(m) >= TINY else zero
        s2[i] = v if v >= TINY else zero


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _adam_row(params, grad, gsq, s1, s2, lo, hi, alpha, omb1, omb2, eps, use_sq, clear):
    """Keras's Adam step on ``params[lo:hi]``: the gradient's square is ``gsq`` (summed
    squares of per-sample slices) where ``use_sq``, else ``grad**2``; with ``clear`` both
    are zeroed.  Adam's moments that fall below the smallest normal float32 are flushed to
    zero, as TensorFlow's flush-to-zero mode does (denormal arithmetic would also be
    slow)."""
    zero = np.float32(0.0)
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        g2 = gsq[i] if use_sq else g * g
        if clear:
            grad[i] = zero
            if use_sq:
                gsq[i] = zero
        m = s1[i] + (g - s1[i]) * omb1
        v = s2[i] + (g2 - s2[i]) * omb2
        m = m if abs(m) >= TINY else zero
        v = v if v >= TINY else zero
        s1[i] = m
        s2[i] = v
        params[i] -= (m * alpha) / (np.sqrt(v) + eps)


@njit(cache=True, nogil=True)
def _lazy_group(groups, g):
    """Whether variable ``g`` is updated lazily under Adam: a trainable embedding table with
    no regulariser, whose gradient is a sum of per-sample slices (``use_sq``)."""
    return groups[g, 6] != 0


@njit(cache=True, nogil=True, error_model="numpy")
def catch_up_batch(ops, groups, params, s1, s2, last, hp, ids, rows, n, t, t0, tab):
    """Bring the table rows that samples ``rows[:n]`` read up to step ``t`` (lazy Adam)."""
    for k in range(ops.shape[0]):
        if ops[k, 0] != OP_EMBED:
            continue
        g = ops[k, 6]
        if not _lazy_group(groups, g):
            continue
        inp = ops[k, 3]
        off = groups[g, 0]
        dim = groups[g, 3]
        seen = last[groups[g, 7]:groups[g, 7] + groups[g, 2]]
        for b in range(n):
            r = ids[inp, rows[b]]
            if seen[r] < t:
                _adam_catch_up(hp, params, s1, s2, off + r * dim, off + (r + 1) * dim, seen[r],
                               t, t0, tab)
                seen[r] = t


@njit(cache=True, nogil=True, error_model="numpy")
def catch_up_all(groups, params, s1, s2, last, hp, t, t0, tab):
    """Bring every row of the lazily updated tables up to step ``t``."""
    for g in range(groups.shape[0]):
        if not _lazy_group(groups, g):
            continue
        off = groups[g, 0]
        dim = groups[g, 3]
        seen = last[groups[g, 7]:groups[g, 7] + groups[g, 2]]
        for r in range(groups[g, 2]):
            if seen[r] < t:
                _adam_catch_up(hp, params, s1, s2, off + r * dim, off + (r + 1) * dim, seen[r],
                               t, t0, tab)
                seen[r] = t


@njit(cache=True, nogil=True)
def apply_step(ops, groups, reg, params, grad, gsq, s1, s2, s3, mask, last, lazy, opt, hp, alpha,
               ids, rows, n, t):
    """One optimizer step over every trainable variable; returns the regularisation penalty.

    The gradient of an embedding table lives in ``grad`` only on the rows the
    batch touched (flagged in ``mask``).  Where the optimizer leaves untouched
    rows unchanged (plain SGD, Adagrad, no regulariser) only those rows are
    visited, and so with ``lazy`` (Adam, no regulariser), where the untouched
    rows are brought up to date later by :func:`catch_up_batch` and
    :func:`catch_up_all`; the step of each visited row is recorded in ``last``.
    Otherwise (RMSprop, momentum, a regulariser) every row is updated, exactly
    as Keras applies a dense update to the table.  ``t`` is the number of this
    step.  ``mask`` is zero on return, and so are ``grad`` and ``gsq`` except in
    sparsely or lazily updated tables, whose rows keep the gradients of earlier
    batches (:func:`backward` overwrites a row on its first touch).
    """
    penalty = 0.0
    sparse_ok = _sparse_table_ok(opt, hp)
    for g in range(groups.shape[0]):
        off = groups[g, 0]
        size = groups[g, 1]
        l1 = reg[g, 0]
        l2 = reg[g, 1]
        has_reg = l1 != 0 or l2 != 0
        use_sq = groups[g, 6] != 0
        trainable = groups[g, 5] != 0
        if has_reg:  # the penalty counts even for frozen weights
            penalty += _penalty(params, grad, off, off + size, l1, l2, trainable)
        if not trainable:
            continue
        if not groups[g, 4]:  # a Dense kernel or bias: never ``use_sq``
            _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, off + size, False,
                         True)
            continue
        dim = groups[g, 3]
        n_rows = groups[g, 2]
        touched = mask[groups[g, 7]:groups[g, 7] + n_rows]
        seen = last[groups[g, 7]:groups[g, 7] + n_rows]
        adam_lazy = lazy and _lazy_group(groups, g)
        if adam_lazy or (sparse_ok and not has_reg):
            omb1 = np.float32(1.0) - hp[1]
            omb2 = np.float32(1.0) - hp[2]
            for k in range(ops.shape[0]):
                if ops[k, 0] == OP_EMBED and ops[k, 6] == g:
                    inp = ops[k, 3]
                    for b in range(n):
                        r = ids[inp, rows[b]]
                        if touched[r]:
                            touched[r] = 0
                            seen[r] = t
                            lo = off + r * dim
                            # literal flags: specialised, vectorised loops
                            if adam_lazy:
                                _adam_row(params, grad, gsq, s1, s2, lo, lo + dim, alpha, omb1,
                                          omb2, hp[3], True, False)
                            elif use_sq:
                                _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, lo,
                                             lo + dim, True, False)
                            else:
                                _update_span(opt, hp, alpha, params, grad, gsq, s1, s2, s3, lo,
                                             lo + dim, False, False)
        elif n_rows >= 2 * PARALLEL_ROWS:
            _update_table_parallel(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, dim,
                                   touched, n_rows, use_sq, has_reg)
        else:
            _update_table(opt, hp, alpha, params, grad, gsq, s1, s2, s3, off, dim, touched, 0,
                          n_rows, use_sq, has_reg)
    return penalty


@njit(cache=True, nogil=True, error_model="numpy")
def adam_alpha(hp, step):
    """Keras's Adam step size ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` in float32."""
    t = np.float32(step)
    b1p = hp[1] ** t
    b2p = hp[2] ** t
    return hp[0] * np.sqrt(np.float32(1.0) - b2p) / (np.float32(1.0) - b1p)


@njit(cache=True, nogil=True, error_model="numpy")
def train_steps(ops, op_inputs, groups, reg, params, grad, gsq, s1, s2, s3, mask, last, lazy,
                opt, hp, iterations, ids, y, order, batch_size, step_lo, step_hi, loss, delta,
                out, out_w, out_sigmoid, acts, dacts, step_stats):
    """Train on mini-batches ``step_lo..step_hi-1`` of ``order``.

    Batch ``s`` holds samples ``order[s*batch_size:(s+1)*batch_size]``.  For each
    batch: forward pass, loss, backward pass, one optimizer step.
    ``iterations[0]`` counts optimizer steps and is advanced.

    With ``lazy`` (Adam only), the rows of an unregularised embedding table
    that a batch does not touch are not visited at each step: a row is
    brought up to date when a batch reads it (:func:`_adam_catch_up`, the
    closed form of the skipped steps) and every row at the end, so that
    ``params`` and the moments hold Keras's dense update on return (up to the
    closed form's ``epsilon`` term).
    ``last`` (int64, one entry per table row like ``mask``) is scratch.
    ``step_stats[s] = (batch size, mean loss + penalty, summed |error|,
    summed error**2)``, the loss being measured before the step, as Keras
    reports it.
    """
    n_total = order.shape[0]
    sums = np.zeros(3)
    t0 = iterations[0]
    if lazy:
        tab = adam_lazy_tables(hp, t0, step_hi - step_lo)
        last[:] = t0
    else:
        tab = np.zeros((2, 1))
    for s in range(step_lo, step_hi):
        lo = s * batch_size
        hi = min(lo + batch_size, n_total)
        n = hi - lo
        rows = order[lo:hi]
        if lazy:
            catch_up_batch(ops, groups, params, s1, s2, last, hp, ids, rows, n,
                           iterations[0], t0, tab)
        forward(ops, op_inputs, params, ids, rows, n, acts)
        sums[:] = 0.0
        clear_dacts(ops, dacts, n)
        loss_head(loss, delta, out, out_w, out_sigmoid, acts, dacts, y, rows, n, sums)
        backward(ops, op_inputs, groups, params, ids, rows, n, acts, dacts, grad, gsq, mask)
        iterations[0] += 1
        alpha = adam_alpha(hp, iterations[0]) if opt == OPT_ADAM else np.float32(0.0)
        penalty = apply_step(ops, groups, reg, params, grad, gsq, s1, s2, s3, mask, last, lazy,
                             opt, hp, alpha, ids, rows, n, iterations[0])
        step_stats[s, 0] = n
        step_stats[s, 1] = sums[0] / n + penalty
        step_stats[s, 2] = sums[1]
        step_stats[s, 3] = sums[2]
    if lazy:
        catch_up_all(groups, params, s1, s2, last, hp, iterations[0], t0, tab)


@njit(cache=True, nogil=True, error_model="numpy")
def _predict_range(ops, op_inputs, params, ids, lo, hi, width, out, out_w, out_sigmoid, result):
    m = hi - lo
    rows = np.arange(lo, hi)
    acts = np.empty((width, m), dtype=params.dtype)
    forward(ops, op_inputs, params, ids, rows, m, acts)
    for b in range(m):
        for j in range(out_w):
            z = acts[out + j, b]
            result[lo + b, j] = _sigmoid(z) if out_sigmoid else z


@njit(cache=True, nogil=True)
def predict(ops, op_inputs, params, ids, n, width, out, out_w, out_sigmoid, chunk, result):
    """Outputs of samples ``0..n-1`` into ``result`` (``n x out_w``), ``chunk`` rows at a time."""
    for lo in range(0, n, chunk):
        _predict_range(ops, op_inputs, params, ids, lo, min(lo + chunk, n), width, out, out_w,
                       out_sigmoid, result)


@njit(cache=True, nogil=True, parallel=True)
def predict_parallel(ops, op_inputs, params, ids, n, width, out, out_w, out_sigmoid, chunk,
                     result):
    """:func:`predict` with the chunks run in parallel."""
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        _predict_range(ops, op_inputs, params, ids, c * chunk, min((c + 1) * chunk, n), width,
                       out, out_w, out_sigmoid, result)


@njit(cache=True, nogil=True, error_model="numpy")
def _evaluate_range(ops, op_inputs, params, ids, y, lo, hi, width, loss, delta, out, out_w,
                    out_sigmoid, sums):
    m = hi - lo
    rows = np.arange(lo, hi)
    acts = np.empty((width, m), dtype=params.dtype)
    dacts = np.empty((width, m), dtype=params.dtype)
    forward(ops, op_inputs, params, ids, rows, m, acts)
    loss_head(loss, delta, out, out_w, out_sigmoid, acts, dacts, y, rows, m, sums)


@njit(cache=True, nogil=True)
def evaluate(ops, op_inputs, params, ids, y, n, width, loss, delta, out, out_w, out_sigmoid,
             chunk):
    """Summed per-sample loss, absolute error and squared error over samples ``0..n-1``."""
    sums = np.zeros(3)
    for lo in range(0, n, chunk):
        _evaluate_range(ops, op_inputs, params, ids, y, lo, min(lo + chunk, n), width, loss,
                        delta, out, out_w, out_sigmoid, sums)
    return sums


@njit(cache=True, nogil=True, parallel=True)
def evaluate_parallel(ops, op_inputs, params, ids, y, n, width, loss, delta, out, out_w,
                      out_sigmoid, chunk):
    """:func:`evaluate` with the chunks run in parallel."""
    n_chunks = (n + chunk - 1) // chunk
    total = np.zeros((n_chunks, 3))
    for c in prange(n_chunks):
        _evaluate_range(ops, op_inputs, params, ids, y, c * chunk, min((c + 1) * chunk, n),
                        width, loss, delta, out, out_w, out_sigmoid, total[c])
    return total.sum(axis=0)
