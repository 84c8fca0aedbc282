// 3. Forward: the decoder (llama, qwen2, qwen3, gemma3, phi3; trainer_arch.cpp) on a batch of B sequences
// of T tokens (N = T*B), with W·x + (alpha/r)·B·(A·x) in every adapted matrix. Shapes in comments use
// E = n_embd, F = n_ff, hd = head size, H / H_kv = query / key-value heads. What the backward needs is kept
// in dt_activations.
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

ggml_tensor * dt_rope(const dt_ops & o, const dt_layer & L, ggml_tensor * x, ggml_tensor * pos) {
    const dt_trainer * t = o.t;
    return ggml_rope_ext(o.ctx, x, pos, t->rope_factors, t->n_rot, t->rope_mode, t->n_ctx_orig, L.rope_base, L.rope_scale,
                         t->rope_ext_factor, t->rope_attn_factor, t->rope_beta_fast, t->rope_beta_slow);
}

ggml_tensor * dt_gelu(ggml_context * ctx, const dt_trainer * t, ggml_tensor * a) {
    if (t->gelu_table) return ggml_gelu(ctx, a);
    const float c = 0.7978845608f, k = 0.044715f; // a/2·(1 + tanh(c·(a + k·a³)))
    ggml_tensor * z = ggml_scale(ctx, ggml_add(ctx, a, ggml_scale(ctx, ggml_mul(ctx, ggml_sqr(ctx, a), a), k)), c);
    return ggml_mul(ctx, ggml_scale(ctx, a, 0.5f), ggml_scale_bias(ctx, ggml_tanh(ctx, z), 1.0f, 1.0f));
}

// Rows [r0, r0 + n) of a fused projection's output [n_total, N], made contiguous.
static ggml_tensor * rows(ggml_context * ctx, ggml_tensor * x, int64_t r0, int64_t n) {
    return ggml_cont(ctx, ggml_view_2d(ctx, x, n, x->ne[1], x->nb[1], r0 * ggml_element_size(x)));
}

// y = rms_norm(x)·w where the architecture has the norm w (saving x and rms_norm(x)); else y = x.
static ggml_tensor * optional_norm(ggml_context * ctx, const dt_trainer * t, ggml_tensor * x, ggml_tensor * w, ggml_tensor ** x_out, ggml_tensor ** r_out) {
    if (!w) return x;
    *x_out = x;
    *r_out = ggml_rms_norm(ctx, x, t->rms_eps);
    return ggml_mul(ctx, *r_out, w);
}

// One decoder layer: x [E, N] -> x + post(attn(norm(x))) + post(ffn(norm(...))). Fills s with what the
// backward reads. hd = head size (attention.key_length), Eq = hd·H, Ekv = hd·H_kv.
ggml_tensor * dt_layer_forward(const dt_ops & o, const dt_inputs & in, int l, ggml_tensor * x, int T, int B, dt_saved & s) {
    ggml_context * ctx = o.ctx;
    const dt_trainer * t = o.t;
    const int hd = t->head_dim, N = T * B, E = t->n_embd, Eq = t->n_embd_q, Ekv = t->n_embd_kv, F = t->n_ff;
    const int H = t->n_head, Hkv = t->n_head_kv;
    const dt_layer & L = t->layers[l];
    s.x_in = x;
    s.r1 = ggml_rms_norm(ctx, x, t->rms_eps);
    s.h1 = ggml_mul(ctx, s.r1, L.attn_norm);
    ggml_tensor * q, * k, * v;
    if (t->fused_qkv) {
        ggml_tensor * qkv = linear(o, L.w[DT_QKV], L.lora[DT_QKV], s.h1, &s.ax[DT_QKV]); // [Eq + 2·Ekv, N]
        q = rows(ctx, qkv, 0, Eq);
        k = rows(ctx, qkv, Eq, Ekv);
        v = rows(ctx, qkv, Eq + Ekv, Ekv);
    } else {
        q = linear(o, L.w[DT_Q], L.lora[DT_Q], s.h1, &s.ax[DT_Q]);              // [Eq, N]
        k = linear(o, L.w[DT_K], L.lora[DT_K], s.h1, &s.ax[DT_K]);              // [Ekv, N]
        v = linear(o, L.w[DT_V], L.lora[DT_V], s.h1, &s.ax[DT_V]);
    }
    if (L.bias[0]) q = ggml_add(ctx, q, L.bias[0]);
    if (L.bias[1]) k = ggml_add(ctx, k, L.bias[1]);
    if (L.bias[2]) v = ggml_add(ctx, v, L.bias[2]);
    GGML_ASSERT(q->ne[0] == Eq && k->ne[0] == Ekv && v->ne[0] == Ekv && q->ne[1] == N);
    q = ggml_reshape_4d(ctx, q, hd, H, T, B);
    k = ggml_reshape_4d(ctx, k, hd, Hkv, T, B);
    v = ggml_reshape_4d(ctx, v, hd, Hkv, T, B);
    q = optional_norm(ctx, t, q, L.q_norm, &s.qn, &s.rq);                     // per head, over hd
    k = optional_norm(ctx, t, k, L.k_norm, &s.kn, &s.rk);
    q = dt_rope(o, L, q, in.pos);
    k = dt_rope(o, L, k, in.pos);
    s.Q = ggml_permute(ctx, q, 0, 2, 1, 3);                           // [hd, T, H, B]
    s.K = ggml_permute(ctx, k, 0, 2, 1, 3);                           // [hd, T, H_kv, B]
    s.V = ggml_permute(ctx, v, 0, 2, 1, 3);                           // [hd, T, H_kv, B]
    ggml_tensor * kq = dt_mm(o, s.K, s.Q);                            // [T_k, T_q, H, B]; head h uses kv h/(H/H_kv)
    GGML_ASSERT(kq->ne[0] == T && kq->ne[1] == T && kq->ne[2] == H && kq->ne[3] == B);
    // Plain masked softmax attention: flash attention has no backward in ggml.
    s.P = ggml_soft_max_ext(ctx, kq, L.swa ? in.mask_swa : in.mask, t->kq_scale, 0.0f);
    ggml_tensor * kqv = dt_mm(o, ggml_permute(ctx, v, 1, 2, 0, 3), s.P); // Vᵀ [T_k, hd, H_kv, B] · P -> [hd, T_q, H, B]
    GGML_ASSERT(kqv->ne[0] == hd && kqv->ne[1] == T && kqv->ne[2] == H && kqv->ne[3] == B);
    s.o = ggml_cont_2d(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3), Eq, N); // [Eq, N]
    ggml_tensor * attn = linear(o, L.w[DT_O], L.lora[DT_O], s.o, &s.ax[DT_O]); // [E, N]
    x = ggml_add(ctx, x, optional_norm(ctx, t, attn, L.attn_post_norm, &s.attn_raw, &s.r_attn_post));
    s.x_mid = x;
    s.r2 = ggml_rms_norm(ctx, x, t->rms_eps);
    s.h2 = ggml_mul(ctx, s.r2, L.ffn_norm);
    if (t->fused_gate_up) {
        ggml_tensor * au = linear(o, L.w[DT_UP], L.lora[DT_UP], s.h2, &s.ax[DT_UP]); // [2F, N], gate rows first
        s.a = rows(ctx, au, 0, F);
        s.u = rows(ctx, au, F, F);
    } else {
        s.a = linear(o, L.w[DT_GATE], L.lora[DT_GATE], s.h2, &s.ax[DT_GATE]);     // [F, N]
        s.u = linear(o, L.w[DT_UP], L.lora[DT_UP], s.h2, &s.ax[DT_UP]);
    }
    GGML_ASSERT(s.a->ne[0] == F && s.u->ne[0] == F);
    // GELU through ggml's own fused op, as llama.cpp runs it (its CPU kernel reads GELU from an F16 table).
    if (t->ffn_act == DT_ACT_GELU) {
        s.m = t->gelu_table ? ggml_geglu_split(ctx, s.a, s.u) : ggml_mul(ctx, dt_gelu(ctx, t, s.a), s.u);
    } else {
        s.g = ggml_silu(ctx, s.a);
        s.m = ggml_mul(ctx, s.g, s.u);
    }
    ggml_tensor * ffn = linear(o, L.w[DT_DOWN], L.lora[DT_DOWN], s.m, &s.ax[DT_DOWN]); // [E, N]
    x = ggml_add(ctx, x, optional_norm(ctx, t, ffn, L.ffn_post_norm, &s.ffn_raw, &s.r_ffn_post));
    GGML_ASSERT(x->ne[0] == E && x->ne[1] == N);
    return x;
}

ggml_tensor * dt_forward(ggml_context * ctx, const dt_trainer * t, const dt_inputs & in, int T, int B, dt_activations * act) {
    const dt_ops o{ ctx, nullptr, t, false };
    const int N = T * B, E = t->n_embd;
    if (act) act->layers.assign(t->n_layer, dt_saved());
    ggml_tensor * x = ggml_get_rows(ctx, t->tok_embd, in.tokens);        // [E, N]
    if (t->embd_scale != 1.0f) x = ggml_scale(ctx, x, t->embd_scale);    // gemma3: sqrt(E)
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
