// 3. Forward: the Llama/Qwen2 decoder on a batch of B sequences of T tokens (N = T*B), with
// W·x + (alpha/r)·B·(A·x) in every adapted matrix. Shapes in comments use E = n_embd, F = n_ff,
// hd = head size, H / H_kv = query / key-value heads. What the backward needs is kept in dt_activations.
#include "trainer_internal.h"

#include <cmath>

// W·x + (alpha/r)·B·(A·x); x: [n_in, N] -> [n_out, N]. ax (A·x, [r, N]) is saved for the backward.
static ggml_tensor * linear(const dt_ops & o, const dt_matrix & w, const dt_lora & lo, ggml_tensor * x, ggml_tensor ** ax_out) {
    ggml_tensor * y = dt_mm(o, w.w, x);                                   // [n_out, N]
    if (lo.a) {
        ggml_tensor * ax = dt_mm(o, lo.a, x);                             // [r, N]
        y = dt_mm_acc(o, y, lo.b, ax, true);                              // + s·B·ax
        if (ax_out) *ax_out = ax;
    }
    return y;
}

// One decoder layer: x [E, N] -> x + attn(norm(x)) + ffn(norm(...)). Fills s with what the backward reads.
ggml_tensor * dt_layer_forward(const dt_ops & o, const dt_inputs & in, int l, ggml_tensor * x, int T, int B, dt_saved & s) {
    ggml_context * ctx = o.ctx;
    const dt_trainer * t = o.t;
    const int hd = t->n_embd / t->n_head, N = T * B, E = t->n_embd;
    const int H = t->n_head, Hkv = t->n_head_kv;
    const dt_layer & L = t->layers[l];
    s.x_in = x;
    s.r1 = ggml_rms_norm(ctx, x, t->rms_eps);
    s.h1 = ggml_mul(ctx, s.r1, L.attn_norm);
    ggml_tensor * q = linear(o, L.w[0], L.lora[0], s.h1, &s.ax[0]);   // [E, N]
    ggml_tensor * k = linear(o, L.w[1], L.lora[1], s.h1, &s.ax[1]);   // [hd*H_kv, N]
    ggml_tensor * v = linear(o, L.w[2], L.lora[2], s.h1, &s.ax[2]);
    if (L.bias[0]) q = ggml_add(ctx, q, L.bias[0]);
    if (L.bias[1]) k = ggml_add(ctx, k, L.bias[1]);
    if (L.bias[2]) v = ggml_add(ctx, v, L.bias[2]);
    q = ggml_reshape_4d(ctx, q, hd, H, T, B);
    k = ggml_reshape_4d(ctx, k, hd, Hkv, T, B);
    v = ggml_reshape_4d(ctx, v, hd, Hkv, T, B);
    q = ggml_rope_ext(ctx, q, in.pos, nullptr, t->n_rot, t->rope_mode, t->n_ctx_train, t->rope_base, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    k = ggml_rope_ext(ctx, k, in.pos, nullptr, t->n_rot, t->rope_mode, t->n_ctx_train, t->rope_base, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    s.Q = ggml_permute(ctx, q, 0, 2, 1, 3);                           // [hd, T, H, B]
    s.K = ggml_permute(ctx, k, 0, 2, 1, 3);                           // [hd, T, H_kv, B]
    s.V = ggml_permute(ctx, v, 0, 2, 1, 3);                           // [hd, T, H_kv, B]
    ggml_tensor * kq = dt_mm(o, s.K, s.Q);                            // [T_k, T_q, H, B]; head h uses kv h/(H/H_kv)
    GGML_ASSERT(kq->ne[0] == T && kq->ne[1] == T && kq->ne[2] == H && kq->ne[3] == B);
    // Plain masked softmax attention: flash attention has no backward in ggml.
    s.P = ggml_soft_max_ext(ctx, kq, in.mask, 1.0f / std::sqrt((float) hd), 0.0f);
    ggml_tensor * kqv = dt_mm(o, ggml_permute(ctx, v, 1, 2, 0, 3), s.P); // Vᵀ [T_k, hd, H_kv, B] · P -> [hd, T_q, H, B]
    GGML_ASSERT(kqv->ne[0] == hd && kqv->ne[1] == T && kqv->ne[2] == H && kqv->ne[3] == B);
    s.o = ggml_cont_2d(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3), E, N); // [E, N]
    x = ggml_add(ctx, x, linear(o, L.w[3], L.lora[3], s.o, &s.ax[3]));
    s.x_mid = x;
    s.r2 = ggml_rms_norm(ctx, x, t->rms_eps);
    s.h2 = ggml_mul(ctx, s.r2, L.ffn_norm);
    s.a = linear(o, L.w[4], L.lora[4], s.h2, &s.ax[4]);               // [F, N]
    s.u = linear(o, L.w[5], L.lora[5], s.h2, &s.ax[5]);
    s.g = ggml_silu(ctx, s.a);
    s.m = ggml_mul(ctx, s.g, s.u);
    x = ggml_add(ctx, x, linear(o, L.w[6], L.lora[6], s.m, &s.ax[6])); // [E, N]
    GGML_ASSERT(x->ne[0] == E && x->ne[1] == N);
    return x;
}

ggml_tensor * dt_forward(ggml_context * ctx, const dt_trainer * t, const dt_inputs & in, int T, int B, dt_activations * act) {
    const dt_ops o{ ctx, nullptr, t, false };
    const int N = T * B, E = t->n_embd;
    if (act) act->layers.assign(t->n_layer, dt_saved());
    ggml_tensor * x = ggml_get_rows(ctx, t->tok_embd, in.tokens);        // [E, N]
    GGML_ASSERT(x->ne[0] == E && x->ne[1] == N);
    for (int l = 0; l < t->n_layer; l++) {
        dt_saved s;
        ggml_tensor * out = dt_layer_forward(o, in, l, x, T, B, s);
        // With activation checkpointing only the layer's input is kept; the backward recomputes the rest.
        if (act) {
            if (t->checkpointing) act->layers[l].x_in = x;
            else act->layers[l] = s;
        }
        x = out;
    }
    ggml_tensor * r = ggml_rms_norm(ctx, x, t->rms_eps);
    if (act) { act->x_last = x; act->r_final = r; }
    return ggml_mul(ctx, r, t->out_norm);                                // [E, N]
}
