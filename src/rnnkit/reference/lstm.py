"""The LSTM in NumPy, with backpropagation through time written by hand."""
from __future__ import annotations

import numpy as np

from rnnkit.reference._layer import RecurrentReference, sigmoid

__all__ = ["LSTM"]


class LSTM(RecurrentReference):
    r"""Multi-layer LSTM, the NumPy reference for ``torch.nn.LSTM`` (no ``proj_size``).

    For each layer k and step t (the input of layer 0 is x_t, of layer k > 0 the h_t of
    layer k-1), with the gate blocks stacked in torch's order i, f, g, o::

        [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh    # (B, 4H)
        i_t = sigma(a_i)    f_t = sigma(a_f)    g_t = tanh(a_g)    o_t = sigma(a_o)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    i input gate, f forget gate, g candidate cell, o output gate, c cell state, h hidden
    state, sigma the logistic sigmoid, * the elementwise product.

    Args:
        input_size: I. hidden_size: H. num_layers: L. bias: False drops b_ih and b_hh.
        seed: int or ``np.random.Generator``; every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).

    Parameters, exactly torch's: ``weight_ih_l{k}`` (4H, I_k), ``weight_hh_l{k}`` (4H, H),
    ``bias_ih_l{k}`` (4H,), ``bias_hh_l{k}`` (4H,).

    Shapes: x (T, B, I); state ``(h0, c0)`` and ``(h_n, c_n)`` each (L, B, H); y (T, B, H).
    """

    gate_count = 4
    state_names = ("h", "c")

    def _layer_forward(self, k, x, state0):
        w_ih, w_hh, b_ih, b_hh = self._weights(k)
        T, B, _ = x.shape
        H = self.hidden_size
        h, c = state0  # (B, H) each
        cache = {name: np.empty((T, B, H), dtype=self.dtype)
                 for name in ("h_prev", "c_prev", "i", "f", "g", "o", "tanh_c")}
        y = np.empty((T, B, H), dtype=self.dtype)
        for t in range(T):
            cache["h_prev"][t], cache["c_prev"][t] = h, c
            gates = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H)
            a_i, a_f, a_g, a_o = np.split(gates, 4, axis=1)  # (B, H) each
            i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
            c = f * c + i * g  # (B, H)
            tanh_c = np.tanh(c)
            h = o * tanh_c  # (B, H)
            for name, value in (("i", i), ("f", f), ("g", g), ("o", o), ("tanh_c", tanh_c)):
                cache[name][t] = value
            y[t] = h
        cache["x"] = x
        return y, (h, c), cache

    def _layer_backward(self, k, dy, cache, dstate_n):
        w_ih, w_hh, _, _ = self._weights(k)
        x = cache["x"]
        T = x.shape[0]
        dx = np.zeros_like(x)  # (T, B, I_k)
        dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
        db = np.zeros(w_ih.shape[0], dtype=self.dtype)  # (4H,)
        dh_next, dc_next = dstate_n  # (B, H): dL/dh_t and dL/dc_t from step t+1 (or d*_n)
        for t in reversed(range(T)):
            i, f, g, o = cache["i"][t], cache["f"][t], cache["g"][t], cache["o"][t]
            tanh_c, c_prev, h_prev = cache["tanh_c"][t], cache["c_prev"][t], cache["h_prev"][t]
            dh = dy[t] + dh_next  # h_t feeds y_t and step t+1
            do = dh * tanh_c  # h_t = o_t * tanh(c_t): dL/do_t = dh_t * tanh(c_t)
            dc = dc_next + dh * o * (1.0 - tanh_c**2)  # ... dL/dc_t += dh_t o_t tanh'(c_t)
            di = dc * g  # c_t = f_t c_{t-1} + i_t g_t: dL/di_t = dc_t g_t
            dg = dc * i  # ... dL/dg_t = dc_t i_t
            df = dc * c_prev  # ... dL/df_t = dc_t c_{t-1}
            dc_next = dc * f  # ... dL/dc_{t-1} = dc_t f_t
            da_i = di * i * (1.0 - i)  # i_t = sigma(a_i): sigma' = i (1 - i)
            da_f = df * f * (1.0 - f)  # f_t = sigma(a_f)
            da_g = dg * (1.0 - g**2)  # g_t = tanh(a_g): tanh' = 1 - g^2
            da_o = do * o * (1.0 - o)  # o_t = sigma(a_o)
            dgates = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
            dw_ih += dgates.T @ x[t]  # gates = W_ih x_t + ...: dL/dW_ih += dgates^T x_t
            dw_hh += dgates.T @ h_prev  # gates = ... + W_hh h_{t-1}: += dgates^T h_{t-1}
            db += dgates.sum(axis=0)  # b_ih and b_hh enter gates alike: same gradient
            dx[t] = dgates @ w_ih  # dL/dx_t = dgates W_ih
            dh_next = dgates @ w_hh  # dL/dh_{t-1} = dgates W_hh
        return dx, (dh_next, dc_next), self._layer_grads(k, dw_ih, dw_hh, db, db.copy())
