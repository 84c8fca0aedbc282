// 4b. Backward, written out by hand (not ggml's autodiff) so that it uses only ops every GPU backend has:
// the input gradient of a frozen matrix is mul_mat(Wt, dy) with Wt a transposed copy in the base's own
// (quantized) type, where autodiff would emit OUT_PROD (CPU-only for quantized weights, absent on Metal);
// RMSNorm, softmax and SiLU backward are expressed in elementwise ops and row sums. Every gradient of a LoRA
// parameter is added to its accumulator on the device. Shapes as in trainer_forward.cpp.
#include "trainer_internal.h"

#include <cmath>

namespace {

using dt_bwd = dt_ops;

// y = W·x + s·B·(A·x): accumulates dA, dB and returns dx [n_in, N] (null when not needed).
ggml_tensor * linear_back(const dt_bwd & c, const dt_matrix & w, const dt_lora & lo, ggml_tensor * x, ggml_tensor * ax, ggml_tensor * dy, bool need_dx) {
    ggml_context * ctx = c.ctx;
    ggml_tensor * dx = need_dx ? dt_mm_weight_t(c, w, dy) : nullptr;       // Wᵀ·dy [n_in, N]
    if (lo.a) {
        dt_accumulate_outer(c, lo.gb, ax, dy, true);                         // dB += s·ax·dyᵀ [r, n_out]
        ggml_tensor * dax = dt_mm(c, ggml_transpose(ctx, lo.b), dy, true);  // s·Bᵀ·dy [r, N]
        dt_accumulate_outer(c, lo.ga, x, dax, false);                        // dA += x·daxᵀ [n_in, r]
        if (need_dx) dx = dt_mm_acc(c, dx, ggml_transpose(ctx, lo.a), dax);  // + Aᵀ·dax
    }
    if (dx) GGML_ASSERT(dx->ne[0] == w.w->ne[0] && dx->ne[1] == dy->ne[1]);
    return dx;
}

// ggml's fused backward op where the device has it (one kernel instead of several); Metal has none of them,
// so each has an equivalent in elementwise ops and row sums.
// (ggml_rms_norm_back takes dy first, then x, as its own autodiff calls it; ggml.h says otherwise.)
bool device_has(const dt_bwd & c, ggml_tensor * op) {
    if (c.t->cpu_matmul && !c.t->portable_backward) return true;  // the CPU has every op
    return !c.t->portable_backward && ggml_backend_supports_op(c.t->backend, op);
}

// y = x / rms(x) (xhat); dy is the gradient of xhat. dx = (dy - xhat·mean(dy·xhat)) / rms(x)
ggml_tensor * rms_norm_back(const dt_bwd & c, ggml_tensor * dy, ggml_tensor * xhat, ggml_tensor * x) {
    ggml_context * ctx = c.ctx;
    if (ggml_tensor * fused = ggml_rms_norm_back(ctx, dy, x, c.t->rms_eps); device_has(c, fused)) return fused;
    const float inv_n = 1.0f / (float) x->ne[0];
    ggml_tensor * rms = ggml_sqrt(ctx, ggml_scale_bias(ctx, ggml_sum_rows(ctx, ggml_sqr(ctx, x)), inv_n, c.t->rms_eps)); // [1, N]
    ggml_tensor * proj = ggml_scale(ctx, ggml_sum_rows(ctx, ggml_mul(ctx, dy, xhat)), inv_n);                           // [1, N]
    return ggml_div(ctx, ggml_sub(ctx, dy, ggml_mul(ctx, xhat, proj)), rms);
}

// Sum the gradients of the query heads that share a key-value head: [hd, T, H, B] -> [hd, T, H_kv, B].
ggml_tensor * sum_head_groups(const dt_bwd & c, ggml_tensor * d, int Hkv) {
    const int64_t hd = d->ne[0], T = d->ne[1], H = d->ne[2], B = d->ne[3];
    const int64_t G = H / Hkv;
    if (G == 1) return d;
    ggml_tensor * x = ggml_reshape_4d(c.ctx, d, hd * T, G, Hkv, B);         // head h = kv·G + g
    x = ggml_sum_rows(c.ctx, ggml_cont(c.ctx, ggml_permute(c.ctx, x, 1, 0, 2, 3))); // [1, hd*T, H_kv, B]
    return ggml_reshape_4d(c.ctx, x, hd, T, Hkv, B);
}

// RoPE rotates each pair by pos·theta_i (times attn_factor); its transpose rotates by -pos·theta_i (theta is
// linear in pos with frequency factors, linear scaling and YaRN alike).
ggml_tensor * unrope(const dt_bwd & c, const dt_layer & L, ggml_tensor * d, const dt_inputs & in) {
    return dt_rope(c, L, d, in.pos_neg);
}

// Through y = rms_norm(x)·w where the layer has the norm (x, xhat saved by the forward); else dy itself.
ggml_tensor * optional_norm_back(const dt_bwd & c, ggml_tensor * dy, ggml_tensor * w, ggml_tensor * xhat, ggml_tensor * x) {
    return w ? rms_norm_back(c, ggml_mul(c.ctx, dy, w), xhat, x) : dy;
}

// GELU's tanh approximation and its derivative:
// gelu(a) = a/2·(1 + tanh(z)), z = c·(a + k·a³); gelu'(a) = (1 + t)/2 + a/2·(1 - t²)·c·(1 + 3k·a²), t = tanh(z)
ggml_tensor * gelu_derivative(ggml_context * ctx, ggml_tensor * a) {
    const float c = 0.7978845608f, k = 0.044715f;
    ggml_tensor * a2 = ggml_sqr(ctx, a);
    ggml_tensor * th = ggml_tanh(ctx, ggml_scale(ctx, ggml_add(ctx, a, ggml_scale(ctx, ggml_mul(ctx, a2, a), k)), c));
    ggml_tensor * left = ggml_scale_bias(ctx, th, 0.5f, 0.5f);
    ggml_tensor * sech2 = ggml_scale_bias(ctx, ggml_sqr(ctx, th), -1.0f, 1.0f);
    ggml_tensor * poly = ggml_scale_bias(ctx, a2, 3.0f * k * c, c);
    return ggml_add(ctx, left, ggml_mul(ctx, ggml_mul(ctx, ggml_scale(ctx, a, 0.5f), sech2), poly));
}

} // namespace

void dt_backward(ggml_context * ctx, ggml_cgraph * gf, const dt_trainer * t, const dt_inputs & in, int T, int B,
                 const dt_activations & act, ggml_tensor * d_hidden) {
    const int hd = t->head_dim, N = T * B, E = t->n_embd, H = t->n_head, Hkv = t->n_head_kv, Eq = t->n_embd_q, Ekv = t->n_embd_kv;
    dt_bwd c{ ctx, gf, t, false };
    if (t->backend != t->cpu) {
        // Probe OUT_PROD on the device with the shapes it would get (F32, contiguous). The CPU's OUT_PROD is
        // slower than two transposes and a mul_mat.
        ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, N);
        ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, N);
        c.out_prod_ok = device_has(c, ggml_out_prod(ctx, a, b));
    }
    const float kq_scale = t->kq_scale;

    // output norm: hf = rms_norm(x)·out_norm
    ggml_tensor * dx = rms_norm_back(c, ggml_mul(ctx, d_hidden, t->out_norm), act.r_final, act.x_last); // [E, N]
    for (int l = t->n_layer - 1; l >= 0; l--) {
        const dt_layer & L = t->layers[l];
        dt_saved recomputed;
        if (t->checkpointing) dt_layer_forward(c, in, l, act.layers[l].x_in, T, B, recomputed);
        const dt_saved & s = t->checkpointing ? recomputed : act.layers[l];

        // ---- feed-forward: x_out = x_mid + post(W_down·(act(W_gate·h2) * (W_up·h2)))
        // g = act(a) and m = g·u are recomputed here from the saved a and u (two cheap elementwise ops)
        // rather than kept from the forward: two [F, N] activations less per layer.
        const bool gelu = t->ffn_act == DT_ACT_GELU;
        ggml_tensor * g = gelu ? dt_gelu(ctx, t, s.a) : ggml_silu(ctx, s.a);                // [F, N]
        ggml_tensor * m = L.lora[DT_DOWN].a ? ggml_mul(ctx, g, s.u) : nullptr;              // needed for dA_down only
        ggml_tensor * d_ffn = optional_norm_back(c, dx, L.ffn_post_norm, s.r_ffn_post, s.ffn_raw); // [E, N]
        ggml_tensor * dm = linear_back(c, L.w[DT_DOWN], L.lora[DT_DOWN], m, s.ax[DT_DOWN], d_ffn, true); // [F, N]
        ggml_tensor * du = ggml_mul(ctx, dm, g);
        ggml_tensor * da;
        if (gelu) {
            da = ggml_mul(ctx, ggml_mul(ctx, dm, s.u), gelu_derivative(ctx, s.a));
        } else if (t->cpu_matmul && !t->portable_backward) {
            da = dt_cpu_swiglu_back(ctx, dm, s.a, s.u);
        } else {
            // silu'(a) = σ(a)·(1 + a·(1 - σ(a))) = σ + g - g·σ, with g = a·σ(a)
            ggml_tensor * dg = ggml_mul(ctx, dm, s.u);
            da = ggml_silu_back(ctx, dg, s.a);
            if (!device_has(c, da)) {
                ggml_tensor * sg = ggml_sigmoid(ctx, s.a);
                da = ggml_mul(ctx, dg, ggml_add(ctx, sg, ggml_sub(ctx, g, ggml_mul(ctx, g, sg))));
            }
        }
        ggml_tensor * dh2;
        if (t->fused_gate_up) {
            dh2 = linear_back(c, L.w[DT_UP], L.lora[DT_UP], s.h2, s.ax[DT_UP], ggml_concat(ctx, da, du, 0), true); // [2F, N] -> [E, N]
        } else {
            dh2 = ggml_add(ctx, linear_back(c, L.w[DT_GATE], L.lora[DT_GATE], s.h2, s.ax[DT_GATE], da, true),
                                linear_back(c, L.w[DT_UP], L.lora[DT_UP], s.h2, s.ax[DT_UP], du, true)); // [E, N]
        }
        ggml_tensor * dx_mid = ggml_add(ctx, dx, rms_norm_back(c, ggml_mul(ctx, dh2, L.ffn_norm), s.r2, s.x_mid));
        GGML_ASSERT(dx_mid->ne[0] == E && dx_mid->ne[1] == N);

        // ---- attention: x_mid = x_in + post(W_o·attn(h1))
        ggml_tensor * d_attn = optional_norm_back(c, dx_mid, L.attn_post_norm, s.r_attn_post, s.attn_raw); // [E, N]
        ggml_tensor * d_o = linear_back(c, L.w[DT_O], L.lora[DT_O], s.o, s.ax[DT_O], d_attn, true); // [Eq, N]
        ggml_tensor * dO = ggml_permute(ctx, ggml_reshape_4d(ctx, d_o, hd, H, T, B), 0, 2, 1, 3); // [hd, T_q, H, B]
        if (!t->cpu_matmul) dO = ggml_cont(ctx, dO);
        ggml_tensor * dP = dt_mm(c, s.V, dO);                                                 // [T_k, T_q, H, B]
        ggml_tensor * dV = dt_mm(c, ggml_transpose(ctx, dO), ggml_transpose(ctx, s.P));       // [hd, T_k, H, B]
        // softmax backward: dS = P ⊙ (dP - Σ_k P·dP), times the scale applied before the softmax
        ggml_tensor * dS = ggml_soft_max_ext_back(ctx, dP, s.P, kq_scale, 0.0f);
        if (!device_has(c, dS)) dS = ggml_scale(ctx, ggml_mul(ctx, s.P, ggml_sub(ctx, dP, ggml_sum_rows(ctx, ggml_mul(ctx, s.P, dP)))), kq_scale);
        GGML_ASSERT(dS->ne[0] == T && dS->ne[1] == T && dS->ne[2] == H && dS->ne[3] == B);
        ggml_tensor * dQ = dt_mm(c, ggml_transpose(ctx, s.K), dS);                            // [hd, T_q, H, B]
        ggml_tensor * dK = dt_mm(c, ggml_transpose(ctx, s.Q), ggml_transpose(ctx, dS));       // [hd, T_k, H, B]
        dK = sum_head_groups(c, dK, Hkv);
        dV = sum_head_groups(c, dV, Hkv);                                                     // [hd, T, H_kv, B]
        ggml_tensor * dq = unrope(c, L, ggml_cont(ctx, ggml_permute(ctx, dQ, 0, 2, 1, 3)), in); // [hd, H, T, B]
        ggml_tensor * dk = unrope(c, L, ggml_cont(ctx, ggml_permute(ctx, dK, 0, 2, 1, 3)), in); // [hd, H_kv, T, B]
        ggml_tensor * dv = ggml_cont(ctx, ggml_permute(ctx, dV, 0, 2, 1, 3));
        dq = optional_norm_back(c, dq, L.q_norm, s.rq, s.qn);                                // per-head q/k norms
        dk = optional_norm_back(c, dk, L.k_norm, s.rk, s.kn);
        dq = ggml_reshape_2d(ctx, dq, Eq, N);
        dk = ggml_reshape_2d(ctx, dk, Ekv, N);
        dv = ggml_reshape_2d(ctx, dv, Ekv, N);

        // Below the first layer's q, k, v lies nothing trainable: only their own LoRA gradients are needed.
        const bool need = l > 0;
        ggml_tensor * dh1;
        if (t->fused_qkv) {
            ggml_tensor * dqkv = ggml_concat(ctx, ggml_concat(ctx, dq, dk, 0), dv, 0);        // [Eq + 2·Ekv, N]
            dh1 = linear_back(c, L.w[DT_QKV], L.lora[DT_QKV], s.h1, s.ax[DT_QKV], dqkv, need);
        } else {
            dh1 = linear_back(c, L.w[DT_Q], L.lora[DT_Q], s.h1, s.ax[DT_Q], dq, need);
            ggml_tensor * dh1k = linear_back(c, L.w[DT_K], L.lora[DT_K], s.h1, s.ax[DT_K], dk, need);
            ggml_tensor * dh1v = linear_back(c, L.w[DT_V], L.lora[DT_V], s.h1, s.ax[DT_V], dv, need);
            if (need) dh1 = ggml_add(ctx, ggml_add(ctx, dh1, dh1k), dh1v);                     // [E, N]
        }
        if (!need) break;
        dx = ggml_add(ctx, dx_mid, rms_norm_back(c, ggml_mul(ctx, dh1, L.attn_norm), s.r1, s.x_in));
        GGML_ASSERT(dx->ne[0] == E && dx->ne[1] == N);
    }
}
