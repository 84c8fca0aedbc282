// 4a. Loss: masked cross-entropy over the labelled positions of a batch, and the graphs that compute it
// (with or without the backward) or the logits. The scheduler's buffers are reserved for the largest
// training step, so every graph runs in them without reallocation.
#include "trainer_internal.h"

#include <algorithm>
#include <climits>
#include <cmath>

// Labelled positions are gathered before the output matrix (prompts cost no vocabulary-sized logits). Their
// count is rounded up so that batches of similar size share a graph; padding rows carry weight 0.
int dt_label_bucket(int n_labelled, int n_positions) {
    const int step = 64;
    return std::min(n_positions, (n_labelled + step - 1) / step * step);
}

static bool build_graph(dt_trainer * t, dt_graph & G, const dt_graph_key & key) {
    const int T = key.T, B = key.B, N = T * B, V = t->n_vocab;
    // The graph's metadata lives in one buffer kept across steps (fresh memory every step costs page faults).
    const size_t need = ggml_tensor_overhead() * t->graph_size * 2 + ggml_graph_overhead_custom(t->graph_size, false);
    if (t->graph_mem.size() < need) t->graph_mem.resize(need);
    ggml_init_params ip = { need, t->graph_mem.data(), true };
    G.ctx = ggml_init(ip);
    ggml_context * ctx = G.ctx;
    dt_inputs & in = G.in;
    in.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, N);
    in.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T);
    in.pos_neg = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T);
    in.mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, T, T);
    for (ggml_tensor * x : { in.tokens, in.pos, in.pos_neg, in.mask }) ggml_set_input(x);
    if (t->n_swa > 0) {
        in.mask_swa = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, T, T);
        ggml_set_input(in.mask_swa);
    }
    G.gf = ggml_new_graph_custom(ctx, t->graph_size, false);

    dt_activations act;
    const dt_ops o{ ctx, G.gf, t, false };
    ggml_tensor * hf = dt_forward(ctx, t, in, T, B, key.grad ? &act : nullptr);          // [E, N]
    if (!key.loss) {
        G.logits = dt_mm(o, t->output.w, hf);                                           // [V, N]
        ggml_set_output(G.logits);
        ggml_build_forward_expand(G.gf, G.logits);
        return true;
    }
    const int L = key.n_lab;
    in.rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, L);
    in.targets = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, L);
    in.weights = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, L);
    for (ggml_tensor * x : { in.rows, in.targets, in.weights }) ggml_set_input(x);
    ggml_tensor * h = ggml_get_rows(ctx, hf, in.rows);                                 // [E, L]
    ggml_tensor * logits = dt_mm(o, t->output.w, h);                                   // [V, L]
    ggml_tensor * p = ggml_soft_max(ctx, logits);                                      // [V, L]
    ggml_tensor * p_label = ggml_get_rows(ctx, ggml_reshape_2d(ctx, p, 1, (int64_t) V * L), in.targets); // [1, L]
    // loss = -Σ_j w_j·log p_j(label_j); the clamp keeps a label the model deems impossible finite.
    G.loss = ggml_scale(ctx, ggml_sum(ctx, ggml_mul(ctx, ggml_log(ctx, ggml_clamp(ctx, p_label, 1e-30f, 1.0f)), in.weights)), -1.0f);
    ggml_set_output(G.loss);
    ggml_build_forward_expand(G.gf, G.loss);
    if (!key.grad) return true;

    // dlogits_j = w_j·(softmax_j - onehot(label_j)): scale every row, then overwrite the label entries.
    ggml_tensor * dl = ggml_mul(ctx, p, in.weights);                                   // [V, L]
    ggml_tensor * at_label = ggml_mul(ctx, ggml_scale_bias(ctx, p_label, 1.0f, -1.0f), in.weights); // [1, L]
    dl = ggml_set_rows(ctx, ggml_reshape_2d(ctx, dl, 1, (int64_t) V * L), at_label, in.targets);
    dl = ggml_reshape_2d(ctx, dl, V, L);
    ggml_tensor * dh = dt_mm_weight_t(o, t->output, dl);                               // [E, L]
    GGML_ASSERT(dh->ne[0] == t->n_embd && dh->ne[1] == L);
    // Scatter back to every position (the rows are distinct; the others get zero).
    ggml_tensor * dhf = ggml_set_rows(ctx, ggml_fill(ctx, hf, 0.0f), dh, in.rows);     // [E, N]
    dt_backward(ctx, G.gf, t, in, T, B, act, dhf);
    return true;
}

std::unique_ptr<dt_graph> dt_build_graph(dt_trainer * t, const dt_graph_key & key) {
    std::unique_ptr<dt_graph> G(new dt_graph());
    if (!build_graph(t, *G, key)) return nullptr;
    return G;
}

// Check the inputs, build the graph for this shape, set the inputs and compute.
dt_graph * dt_run_graph(dt_trainer * t, const dt_batch & b, bool grad) {
    const int T = b.T, B = b.B, N = T * B;
    if (T <= 0 || B <= 0) return fail(t, "empty sequence"), nullptr;
    for (int i = 0; i < N; i++) {
        if (b.tokens[i] < 0 || b.tokens[i] >= t->n_vocab) return fail(t, "token id out of range"), nullptr;
    }
    dt_graph_key key;
    key.T = T;
    key.B = B;
    key.grad = grad;
    key.loss = b.labels != nullptr;
    std::vector<int32_t> rows, targets;
    std::vector<float> weights;
    if (b.labels) {
        std::vector<int32_t> free_rows;
        for (int i = 0; i < N; i++) {
            if (b.labels[i] >= t->n_vocab) return fail(t, "label id out of range"), nullptr;
            if (b.labels[i] >= 0) rows.push_back(i); else free_rows.push_back(i);
        }
        const int n = (int) rows.size();
        if (n == 0) return fail(t, "no position carries a loss (all labels masked)"), nullptr;
        key.n_lab = dt_label_bucket(n, N);
        if ((int64_t) key.n_lab * t->n_vocab > INT32_MAX) return fail(t, "batch too large for this vocabulary (lower --batch or --seq)"), nullptr;
        for (int j = 0; j < key.n_lab; j++) {
            if (j >= n) rows.push_back(free_rows[j - n]);
            targets.push_back(j * t->n_vocab + (j < n ? b.labels[rows[j]] : 0));
            weights.push_back(j < n ? 1.0f / (float) n : 0.0f);
        }
    }
    t->graph.reset(); // its metadata buffer is reused by the next graph
    t->graph = dt_build_graph(t, key);
    dt_graph * G = t->graph.get();
    if (!G) return nullptr;
    std::vector<int32_t> pos(T), pos_neg(T);
    for (int i = 0; i < T; i++) { pos[i] = i; pos_neg[i] = -i; }
    std::vector<float> mask((size_t) T * T), mask_swa;
    for (int q = 0; q < T; q++) for (int k = 0; k < T; k++) mask[(size_t) q * T + k] = k <= q ? 0.0f : -INFINITY;
    if (t->n_swa > 0) {
        // llama.cpp's is_masked_swa (standard): a key at least n_swa positions back is out of the window.
        mask_swa.resize((size_t) T * T);
        for (int q = 0; q < T; q++) for (int k = 0; k < T; k++) mask_swa[(size_t) q * T + k] = k <= q && q - k < t->n_swa ? 0.0f : -INFINITY;
    }
    const bool ok = dt_compute(t, G->gf, [&] {
        ggml_backend_tensor_set(G->in.tokens, b.tokens, 0, (size_t) N * sizeof(int32_t));
        ggml_backend_tensor_set(G->in.pos, pos.data(), 0, T * sizeof(int32_t));
        if (G->in.pos_neg->buffer) ggml_backend_tensor_set(G->in.pos_neg, pos_neg.data(), 0, T * sizeof(int32_t));
        ggml_backend_tensor_set(G->in.mask, mask.data(), 0, mask.size() * sizeof(float));
        if (G->in.mask_swa && G->in.mask_swa->buffer) ggml_backend_tensor_set(G->in.mask_swa, mask_swa.data(), 0, mask_swa.size() * sizeof(float));
        if (b.labels) {
            ggml_backend_tensor_set(G->in.rows, rows.data(), 0, rows.size() * sizeof(int32_t));
            ggml_backend_tensor_set(G->in.targets, targets.data(), 0, targets.size() * sizeof(int32_t));
            ggml_backend_tensor_set(G->in.weights, weights.data(), 0, weights.size() * sizeof(float));
        }
    }, true);
    return ok ? G : nullptr;
}
