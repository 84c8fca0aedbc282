// 5. AdamW on the device. Gradients accumulate in device tensors across the micro-batches of a step; the
// update reads back one scalar (the squared gradient norm, for clipping and the progress line) and applies
// ggml's fused AdamW to every LoRA tensor, so parameters and moments never leave the device.
#include "trainer_internal.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

static ggml_context * new_ctx(size_t n_tensors) {
    ggml_init_params ip = { ggml_tensor_overhead() * n_tensors, nullptr, true };
    return ggml_init(ip);
}

bool dt_init_optimizer(dt_trainer * t) {
    const size_t n = t->params.size();
    t->ctx_g = new_ctx(n);
    t->ctx_o = new_ctx(2 * n);
    for (ggml_tensor * p : t->params) {
        ggml_tensor * g = ggml_dup_tensor(t->ctx_g, p);
        ggml_tensor * m = ggml_dup_tensor(t->ctx_o, p);
        ggml_tensor * v = ggml_dup_tensor(t->ctx_o, p);
        ggml_format_name(g, "%s.grad", ggml_get_name(p));
        ggml_format_name(m, "%s.adam_m", ggml_get_name(p));
        ggml_format_name(v, "%s.adam_v", ggml_get_name(p));
        t->grads.push_back(g);
        t->moments_m.push_back(m);
        t->moments_v.push_back(v);
    }
    size_t k = 0;
    for (dt_layer & L : t->layers) {
        for (dt_lora & lo : L.lora) {
            if (!lo.a) continue;
            lo.ga = t->grads[k]; lo.ma = t->moments_m[k]; lo.va = t->moments_v[k]; k++;
            lo.gb = t->grads[k]; lo.mb = t->moments_m[k]; lo.vb = t->moments_v[k]; k++;
        }
    }
    t->buf_g = ggml_backend_alloc_ctx_tensors(t->ctx_g, t->backend);
    t->buf_o = ggml_backend_alloc_ctx_tensors(t->ctx_o, t->backend);
    if (!t->buf_g || !t->buf_o) return fail(t, "out of memory on " + t->backend_name + " for the optimizer state"), false;
    ggml_backend_buffer_clear(t->buf_g, 0);
    ggml_backend_buffer_clear(t->buf_o, 0);
    return true;
}

// sum over all accumulators of sum(g²), a [1] tensor (G.loss)
static std::unique_ptr<dt_graph> build_norm_graph(dt_trainer * t) {
    std::unique_ptr<dt_graph> out(new dt_graph());
    dt_graph & G = *out;
    const size_t n_nodes = 4 * t->grads.size() + 16;
    ggml_init_params ip = { ggml_tensor_overhead() * n_nodes + ggml_graph_overhead_custom(n_nodes, false), nullptr, true };
    G.ctx = ggml_init(ip);
    G.gf = ggml_new_graph_custom(G.ctx, n_nodes, false);
    ggml_tensor * sq = nullptr;
    for (ggml_tensor * g : t->grads) {
        ggml_tensor * s = ggml_sum(G.ctx, ggml_sqr(G.ctx, g));
        sq = sq ? ggml_add(G.ctx, sq, s) : s;
    }
    ggml_set_output(sq);
    ggml_build_forward_expand(G.gf, sq);
    G.loss = sq;
    return out;
}

// p, m, v <- AdamW(p, g * scale, m, v) for every LoRA tensor; scale folds in 1/accum and the clip factor
// inputs: G.in.weights = [scale], G.logits = the 7 AdamW hyperparameters (ggml's layout)
static std::unique_ptr<dt_graph> build_update_graph(dt_trainer * t) {
    std::unique_ptr<dt_graph> out(new dt_graph());
    dt_graph & G = *out;
    const size_t n_nodes = 3 * t->params.size() + 16;
    ggml_init_params ip = { ggml_tensor_overhead() * n_nodes + ggml_graph_overhead_custom(n_nodes, false), nullptr, true };
    G.ctx = ggml_init(ip);
    G.gf = ggml_new_graph_custom(G.ctx, n_nodes, false);
    ggml_tensor * scale = G.in.weights = ggml_new_tensor_1d(G.ctx, GGML_TYPE_F32, 1);
    ggml_tensor * hparams = G.logits = ggml_new_tensor_1d(G.ctx, GGML_TYPE_F32, 7);
    ggml_set_input(scale);
    ggml_set_input(hparams);
    for (size_t i = 0; i < t->params.size(); i++) {
        ggml_tensor * g = ggml_mul(G.ctx, t->grads[i], scale);
        ggml_build_forward_expand(G.gf, ggml_opt_step_adamw(G.ctx, t->params[i], g, t->moments_m[i], t->moments_v[i], hparams));
    }
    return out;
}

// On the CPU the parameters, gradients and moments are host memory: the norm and the update are plain loops
// there (ggml's graphs would take three nodes, each with a thread barrier, for each of hundreds of small
// tensors). The update is ggml's OPT_STEP_ADAMW formula, operation for operation.
static bool host_resident(const dt_trainer * t) {
    return t->backend == t->cpu && ggml_backend_buffer_is_host(t->buf_p) && ggml_backend_buffer_is_host(t->buf_g) && ggml_backend_buffer_is_host(t->buf_o);
}

static float host_grad_sq(const dt_trainer * t) {
    double sq = 0.0;
    for (const ggml_tensor * g : t->grads) {
        // sixteen partial sums: a vector's worth, so that the loop vectorises without reordering a single sum
        const float * x = (const float *) g->data;
        const int64_t n = ggml_nelements(g);
        float part[16] = {};
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) for (int j = 0; j < 16; j++) part[j] += x[i + j] * x[i + j];
        for (; i < n; i++) part[0] += x[i] * x[i];
        for (float p : part) sq += p;
    }
    return (float) sq;
}

static void host_adamw(dt_trainer * t, float scale, const float hp[7]) {
    const float alpha = hp[0], beta1 = hp[1], beta2 = hp[2], eps = hp[3], wd = hp[4], beta1h = hp[5], beta2h = hp[6];
    const float keep = 1.f - alpha * wd;
    for (size_t k = 0; k < t->params.size(); k++) {
        float * w = (float *) t->params[k]->data, * m = (float *) t->moments_m[k]->data, * v = (float *) t->moments_v[k]->data;
        const float * gs = (const float *) t->grads[k]->data;
        for (int64_t i = 0, n = ggml_nelements(t->params[k]); i < n; i++) {
            const float g = gs[i] * scale;
            m[i] = m[i] * beta1 + g * (1.0f - beta1);
            v[i] = v[i] * beta2 + g * g * (1.0f - beta2);
            const float mh = m[i] * beta1h;
            const float vh = sqrtf(v[i] * beta2h) + eps;
            w[i] = w[i] * keep - alpha * mh / vh;
        }
    }
}

int dt_optimizer_step(dt_trainer * t, float lr, float beta1, float beta2, float eps, float wd, float clip, int32_t accum, float * out_norm) {
    const bool host = host_resident(t);
    float sq = 0.0f;
    if (host) {
        sq = host_grad_sq(t);
    } else {
        std::unique_ptr<dt_graph> N = build_norm_graph(t);
        if (!dt_compute(t, N->gf, [] {}, false)) return -1;
        ggml_backend_tensor_get(N->loss, &sq, 0, sizeof(float));
    }
    const float inv_accum = 1.0f / (float) (accum > 0 ? accum : 1);
    const float norm = std::sqrt(sq) * inv_accum;
    if (out_norm) *out_norm = norm;
    if (!std::isfinite(norm)) {
        ggml_backend_buffer_clear(t->buf_g, 0);
        t->has_grads = false;
        return fail(t, "gradient is not finite");
    }
    const float clip_scale = clip > 0.0f && norm > clip ? clip / norm : 1.0f;
    t->step += 1;
    const float scale = inv_accum * clip_scale;
    const float hp[7] = { lr, beta1, beta2, eps, wd, 1.0f / (1.0f - std::pow(beta1, (float) t->step)), 1.0f / (1.0f - std::pow(beta2, (float) t->step)) };
    if (host) {
        host_adamw(t, scale, hp);
        ggml_backend_buffer_clear(t->buf_g, 0);
        t->has_grads = false;
        return 0;
    }
    std::unique_ptr<dt_graph> U = build_update_graph(t);
    const bool ok = dt_compute(t, U->gf, [&] {
        ggml_backend_tensor_set(U->in.weights, &scale, 0, sizeof(float));
        ggml_backend_tensor_set(U->logits, hp, 0, sizeof(hp));
    }, false);
    ggml_backend_buffer_clear(t->buf_g, 0);
    t->has_grads = false;
    return ok ? 0 : -1;
}
