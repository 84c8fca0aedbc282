// The training graph: the decoder with LoRA in every adapted matrix, masked cross-entropy, ggml's autodiff.
#include "trainer_internal.h"

#include <cmath>

// ---------------------------------------------------------------- 3. forward

// W·x + (alpha/r)·B·(A·x); x: [n_in, T] -> [n_out, T]
static ggml_tensor * linear(ggml_context * ctx, const dt_trainer * t, ggml_tensor * w, const dt_lora & lo, ggml_tensor * x) {
    ggml_tensor * y = ggml_mul_mat(ctx, w, x);
    if (lo.a) {
        ggml_tensor * ax = ggml_mul_mat(ctx, lo.a, x);                    // [r, T]
        ggml_tensor * bax = ggml_mul_mat(ctx, lo.b, ax);                  // [n_out, T]
        y = ggml_add(ctx, y, ggml_scale(ctx, bax, t->scale));
    }
    return y;
}

static ggml_tensor * forward(ggml_context * ctx, const dt_trainer * t, const dt_inputs & in, int T) {
    const int hd = t->n_embd / t->n_head;
    ggml_tensor * x = ggml_get_rows(ctx, t->tok_embd, in.tokens);        // [n_embd, T]
    GGML_ASSERT(x->ne[0] == t->n_embd && x->ne[1] == T);
    for (int l = 0; l < t->n_layer; l++) {
        const dt_layer & L = t->layers[l];
        ggml_tensor * h = ggml_mul(ctx, ggml_rms_norm(ctx, x, t->rms_eps), L.attn_norm);
        ggml_tensor * q = linear(ctx, t, L.w[0], L.lora[0], h);         // [n_embd, T]
        ggml_tensor * k = linear(ctx, t, L.w[1], L.lora[1], h);         // [hd*n_kv, T]
        ggml_tensor * v = linear(ctx, t, L.w[2], L.lora[2], h);
        if (L.bias[0]) q = ggml_add(ctx, q, L.bias[0]);
        if (L.bias[1]) k = ggml_add(ctx, k, L.bias[1]);
        if (L.bias[2]) v = ggml_add(ctx, v, L.bias[2]);
        q = ggml_reshape_3d(ctx, q, hd, t->n_head, T);
        k = ggml_reshape_3d(ctx, k, hd, t->n_head_kv, T);
        v = ggml_reshape_3d(ctx, v, hd, t->n_head_kv, T);
        q = ggml_rope_ext(ctx, q, in.pos, nullptr, t->n_rot, t->rope_mode, t->n_ctx_train, t->rope_base, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
        k = ggml_rope_ext(ctx, k, in.pos, nullptr, t->n_rot, t->rope_mode, t->n_ctx_train, t->rope_base, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
        ggml_tensor * Q = ggml_permute(ctx, q, 0, 2, 1, 3);             // [hd, T, n_head]
        ggml_tensor * K = ggml_permute(ctx, k, 0, 2, 1, 3);             // [hd, T, n_kv]
        ggml_tensor * kq = ggml_mul_mat(ctx, K, Q);                      // [T_k, T_q, n_head]; head h uses kv h/(n_head/n_kv)
        GGML_ASSERT(kq->ne[0] == T && kq->ne[1] == T && kq->ne[2] == t->n_head);
        // Plain masked softmax attention: flash attention has no backward in ggml.
        kq = ggml_soft_max_ext(ctx, kq, in.mask, 1.0f / std::sqrt((float) hd), 0.0f);
        ggml_tensor * V = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3)); // [T_k, hd, n_kv]
        ggml_tensor * kqv = ggml_mul_mat(ctx, V, kq);                    // [hd, T_q, n_head]
        GGML_ASSERT(kqv->ne[0] == hd && kqv->ne[1] == T && kqv->ne[2] == t->n_head);
        ggml_tensor * o = ggml_cont_2d(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3), t->n_embd, T);
        o = linear(ctx, t, L.w[3], L.lora[3], o);
        x = ggml_add(ctx, x, o);
        h = ggml_mul(ctx, ggml_rms_norm(ctx, x, t->rms_eps), L.ffn_norm);
        ggml_tensor * g = ggml_silu(ctx, linear(ctx, t, L.w[4], L.lora[4], h)); // [n_ff, T]
        ggml_tensor * u = linear(ctx, t, L.w[5], L.lora[5], h);
        ggml_tensor * d = linear(ctx, t, L.w[6], L.lora[6], ggml_mul(ctx, g, u)); // [n_embd, T]
        x = ggml_add(ctx, x, d);
        GGML_ASSERT(x->ne[0] == t->n_embd && x->ne[1] == T);
    }
    x = ggml_mul(ctx, ggml_rms_norm(ctx, x, t->rms_eps), t->out_norm);
    ggml_tensor * logits = ggml_mul_mat(ctx, t->output, x);              // [n_vocab, T]
    GGML_ASSERT(logits->ne[0] == t->n_vocab && logits->ne[1] == T);
    return logits;
}

// ---------------------------------------------------------------- 4. loss, backward, logits

// Build (once per shape) the forward, loss and backward graph and allocate it.
static bool build_graph(dt_trainer * t, dt_graph & G, const dt_graph_key & key) {
    const int T = key.T;
    const size_t n_nodes = 16384 + (size_t) t->n_layer * 512;
    ggml_init_params ip = { ggml_tensor_overhead() * n_nodes * 3 + ggml_graph_overhead_custom(n_nodes, true), nullptr, true };
    G.ctx = ggml_init(ip);
    G.in.tokens = ggml_new_tensor_1d(G.ctx, GGML_TYPE_I32, T);
    G.in.pos = ggml_new_tensor_1d(G.ctx, GGML_TYPE_I32, T);
    G.in.mask = ggml_new_tensor_2d(G.ctx, GGML_TYPE_F32, T, T);
    for (ggml_tensor * x : { G.in.tokens, G.in.pos, G.in.mask }) ggml_set_input(x);
    G.logits = forward(G.ctx, t, G.in, T);
    ggml_set_output(G.logits);
    G.gf = ggml_new_graph_custom(G.ctx, n_nodes, key.grad);
    if (key.loss) {
        // Only positions with a label take part: ggml's cross-entropy backward assumes every row's labels sum
        // to 1, so an all-zero (masked) row would still push gradients. Select the labelled rows first.
        G.label_rows = ggml_new_tensor_1d(G.ctx, GGML_TYPE_I32, key.n_labeled);
        G.labels = ggml_new_tensor_2d(G.ctx, GGML_TYPE_F32, t->n_vocab, key.n_labeled);
        ggml_set_input(G.label_rows);
        ggml_set_input(G.labels);
        ggml_tensor * picked = ggml_get_rows(G.ctx, G.logits, G.label_rows);   // [n_vocab, n_labeled]
        G.loss = ggml_cross_entropy_loss(G.ctx, picked, G.labels);            // mean over labelled positions
        ggml_set_output(G.loss);
        ggml_set_loss(G.loss);
        ggml_build_forward_expand(G.gf, G.loss);
        if (key.grad) ggml_build_backward_expand(G.ctx, G.gf, nullptr);
    } else {
        ggml_build_forward_expand(G.gf, G.logits);
    }
    G.galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(t->backend));
    if (!ggml_gallocr_alloc_graph(G.galloc, G.gf)) return fail(t, "out of memory for the training graph (lower --seq or --batch)"), false;
    return true;
}

// Check the inputs, reuse the graph when the shape is unchanged (most steps), set the inputs and compute.
dt_graph * dt_run_graph(dt_trainer * t, const int32_t * tokens, const int32_t * labels, int T, bool grad) {
    if (T <= 0) return fail(t, "empty sequence"), nullptr;
    for (int i = 0; i < T; i++) {
        if (tokens[i] < 0 || tokens[i] >= t->n_vocab) return fail(t, "token id out of range"), nullptr;
    }
    dt_graph_key key;
    key.T = T;
    key.grad = grad;
    key.loss = labels != nullptr;
    if (labels) {
        for (int i = 0; i < T; i++) {
            if (labels[i] >= t->n_vocab) return fail(t, "label id out of range"), nullptr;
            key.n_labeled += labels[i] >= 0;
        }
        if (key.n_labeled == 0) return fail(t, "no position carries a loss (all labels masked)"), nullptr;
    }
    if (!t->graph || !(t->graph_key == key)) {
        t->graph.reset(new dt_graph());
        t->graph_key = key;
        if (!build_graph(t, *t->graph, key)) {
            t->graph.reset();
            return nullptr;
        }
    }
    dt_graph & G = *t->graph;
    std::vector<int32_t> pos(T);
    for (int i = 0; i < T; i++) pos[i] = i;
    std::vector<float> mask((size_t) T * T);
    for (int q = 0; q < T; q++) for (int k = 0; k < T; k++) mask[(size_t) q * T + k] = k <= q ? 0.0f : -INFINITY;
    ggml_backend_tensor_set(G.in.tokens, tokens, 0, T * sizeof(int32_t));
    ggml_backend_tensor_set(G.in.pos, pos.data(), 0, T * sizeof(int32_t));
    ggml_backend_tensor_set(G.in.mask, mask.data(), 0, mask.size() * sizeof(float));
    if (labels) {
        std::vector<int32_t> rows;
        std::vector<float> onehot((size_t) t->n_vocab * key.n_labeled, 0.0f);
        for (int i = 0; i < T; i++) {
            if (labels[i] < 0) continue;
            onehot[rows.size() * t->n_vocab + labels[i]] = 1.0f;
            rows.push_back(i);
        }
        ggml_backend_tensor_set(G.label_rows, rows.data(), 0, rows.size() * sizeof(int32_t));
        ggml_backend_tensor_set(G.labels, onehot.data(), 0, onehot.size() * sizeof(float));
    }
    if (grad) ggml_graph_reset(G.gf);
    if (ggml_backend_graph_compute(t->backend, G.gf) != GGML_STATUS_SUCCESS) return fail(t, "graph computation failed"), nullptr;
    return &G;
}

