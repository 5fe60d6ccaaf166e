"""The GRU in NumPy, with backpropagation through time written by hand."""
from __future__ import annotations

import numpy as np

from rnnkit.reference._layer import RecurrentReference, sigmoid

__all__ = ["GRU"]


class GRU(RecurrentReference):
    r"""Multi-layer GRU, the NumPy reference for ``torch.nn.GRU``.

    For each layer k and step t, with gate blocks stacked in torch's order r, z, n and the
    reset gate applied *inside* the candidate, after W_hn (as torch does)::

        [gi_r, gi_z, gi_n] = W_ih x_t + b_ih                 # (B, 3H)
        [gh_r, gh_z, gh_n] = W_hh h_{t-1} + b_hh             # (B, 3H)
        r_t = sigma(gi_r + gh_r)                             # reset gate
        z_t = sigma(gi_z + gh_z)                             # update gate
        n_t = tanh(gi_n + r_t * gh_n)                        # candidate
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Args:
        input_size: I. hidden_size: H. num_layers: L. bias: False drops b_ih and b_hh.
        seed: int or ``np.random.Generator``; every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).

    Parameters, exactly torch's: ``weight_ih_l{k}`` (3H, I_k), ``weight_hh_l{k}`` (3H, H),
    ``bias_ih_l{k}`` (3H,), ``bias_hh_l{k}`` (3H,).

    Shapes: x (T, B, I); h0 and h_n (L, B, H); y (T, B, H).
    """

    gate_count = 3
    state_names = ("h",)

    def _layer_forward(self, k, x, state0):
        w_ih, w_hh, b_ih, b_hh = self._weights(k)
        T, B, _ = x.shape
        H = self.hidden_size
        (h,) = state0  # (B, H)
        cache = {name: np.empty((T, B, H), dtype=self.dtype)
                 for name in ("h_prev", "r", "z", "n", "gh_n")}
        y = np.empty((T, B, H), dtype=self.dtype)
        for t in range(T):
            cache["h_prev"][t] = h
            gi_r, gi_z, gi_n = np.split(x[t] @ w_ih.T + b_ih, 3, axis=1)  # (B, H) each
            gh_r, gh_z, gh_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)  # (B, H) each
            r = sigmoid(gi_r + gh_r)
            z = sigmoid(gi_z + gh_z)
            n = np.tanh(gi_n + r * gh_n)
            h = (1.0 - z) * n + z * h  # (B, H)
            for name, value in (("r", r), ("z", z), ("n", n), ("gh_n", gh_n)):
                cache[name][t] = value
            y[t] = h
        cache["x"] = x
        return y, (h,), cache

    def _layer_backward(self, k, dy, cache, dstate_n):
        w_ih, w_hh, _, _ = self._weights(k)
        x = cache["x"]
        T = x.shape[0]
        dx = np.zeros_like(x)  # (T, B, I_k)
        dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
        db_ih = np.zeros(w_ih.shape[0], dtype=self.dtype)  # (3H,)
        db_hh = np.zeros_like(db_ih)
        (dh_next,) = dstate_n  # (B, H): dL/dh_t arriving from step t+1 (or from dh_n)
        for t in reversed(range(T)):
            r, z, n = cache["r"][t], cache["z"][t], cache["n"][t]
            gh_n, h_prev = cache["gh_n"][t], cache["h_prev"][t]
            dh = dy[t] + dh_next  # h_t feeds y_t and step t+1
            dn = dh * (1.0 - z)  # h_t = (1 - z_t) n_t + z_t h_{t-1}: dL/dn_t = dh_t (1 - z_t)
            dz = dh * (h_prev - n)  # ... dL/dz_t = dh_t (h_{t-1} - n_t)
            dh_direct = dh * z  # ... the direct path: dL/dh_{t-1} += dh_t z_t
            da_n = dn * (1.0 - n**2)  # n_t = tanh(a_n): dL/da_n = dn_t (1 - n_t^2)
            dgh_n = da_n * r  # a_n = gi_n + r_t gh_n: dL/dgh_n = da_n r_t
            dr = da_n * gh_n  # ... dL/dr_t = da_n gh_n
            da_r = dr * r * (1.0 - r)  # r_t = sigma(gi_r + gh_r)
            da_z = dz * z * (1.0 - z)  # z_t = sigma(gi_z + gh_z)
            dgi = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H): dL/d(W_ih x_t + b_ih)
            dgh = np.concatenate([da_r, da_z, dgh_n], axis=1)  # (B, 3H): dL/d(W_hh h + b_hh)
            dw_ih += dgi.T @ x[t]  # gi = W_ih x_t + b_ih: dL/dW_ih += dgi^T x_t
            dw_hh += dgh.T @ h_prev  # gh = W_hh h_{t-1} + b_hh: dL/dW_hh += dgh^T h_{t-1}
            db_ih += dgi.sum(axis=0)  # dL/db_ih += sum_b dgi
            db_hh += dgh.sum(axis=0)  # dL/db_hh += sum_b dgh
            dx[t] = dgi @ w_ih  # dL/dx_t = dgi W_ih
            dh_next = dh_direct + dgh @ w_hh  # dL/dh_{t-1} = dh_t z_t + dgh W_hh
        return dx, (dh_next,), self._layer_grads(k, dw_ih, dw_hh, db_ih, db_hh)
