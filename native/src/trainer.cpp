// LoRA training on a GGUF model with ggml. Read in order: 1-2 in trainer_model.cpp, 3-4 in trainer_graph.cpp,
// 5 and the C API here.
//   1. load: pick the ggml backend, read hyperparameters and base weights from the GGUF (any tensor type)
//   2. LoRA parameters: A (Kaiming-uniform) and B (zero) for every targeted matrix, so step 0 is the base
//   3. forward: the Llama/Qwen2 decoder with W·x + (alpha/r)·B·(A·x) in every adapted matrix
//   4. loss and backward: masked cross-entropy, ggml's autodiff, gradients copied to the host
//   5. AdamW on the host: the LoRA parameters are small, and this keeps clipping and state explicit
#include "trainer_internal.h"

#include <cmath>
#include <cstdio>
#include <cstring>

// ---------------------------------------------------------------- C API

extern "C" {

dt_trainer * dt_trainer_init(const dt_trainer_params * p, char * error, size_t error_len) {
    auto * t = new dt_trainer();
    bool ok = p && p->model_path && p->backends_dir && dt_load_cpu_backend(t, p->backends_dir, p->n_threads) &&
              dt_load_model(t, p->model_path) && dt_init_lora(t, p->rank, p->alpha, p->targets, p->seed);
    if (!ok) {
        if (error && error_len) snprintf(error, error_len, "%s", t->error.empty() ? "invalid parameters" : t->error.c_str());
        dt_trainer_free(t);
        return nullptr;
    }
    return t;
}

void dt_trainer_free(dt_trainer * t) {
    if (!t) return;
    t->graph.reset(); // its buffers belong to the backend, freed below
    if (t->buf_p) ggml_backend_buffer_free(t->buf_p);
    if (t->ctx_p) ggml_free(t->ctx_p);
    if (t->buf_w) ggml_backend_buffer_free(t->buf_w);
    if (t->ctx_w) ggml_free(t->ctx_w);
    if (t->gguf) gguf_free(t->gguf);
    if (t->backend) ggml_backend_free(t->backend);
    // The backend library stays loaded: ggml keeps its registration for the life of the process.
    delete t;
}

const char * dt_trainer_last_error(const dt_trainer * t) { return t ? t->error.c_str() : "no trainer"; }

int dt_trainer_get_info(const dt_trainer * t, dt_trainer_info * info) {
    if (!t || !info) return -1;
    memset(info, 0, sizeof(*info));
    snprintf(info->arch, sizeof(info->arch), "%s", t->arch.c_str());
    snprintf(info->backend, sizeof(info->backend), "%s", t->backend_name.c_str());
    info->n_vocab = t->n_vocab; info->n_embd = t->n_embd; info->n_layer = t->n_layer; info->n_head = t->n_head;
    info->n_head_kv = t->n_head_kv; info->n_ff = t->n_ff; info->n_ctx_train = t->n_ctx_train;
    info->n_params = t->n_params; info->n_tensors = (int32_t) t->params.size();
    return 0;
}

int dt_trainer_param_desc(const dt_trainer * t, int32_t i, char * name, size_t name_len, int64_t ne[2]) {
    if (!t || i < 0 || i >= (int32_t) t->params.size()) return -1;
    snprintf(name, name_len, "%s", ggml_get_name(t->params[i]));
    ne[0] = t->params[i]->ne[0];
    ne[1] = t->params[i]->ne[1];
    return 0;
}

int dt_trainer_get_params(dt_trainer * t, float * out) {
    size_t off = 0;
    for (ggml_tensor * p : t->params) { ggml_backend_tensor_get(p, out + off, 0, ggml_nbytes(p)); off += ggml_nelements(p); }
    return 0;
}

int dt_trainer_set_params(dt_trainer * t, const float * values) {
    size_t off = 0;
    for (ggml_tensor * p : t->params) { ggml_backend_tensor_set(p, values + off, 0, ggml_nbytes(p)); off += ggml_nelements(p); }
    return 0;
}

int dt_trainer_loss(dt_trainer * t, const int32_t * tokens, const int32_t * labels, int32_t n, int32_t compute_grad, float * out_loss) {
    if (!labels) return fail(t, "labels are required");
    dt_graph * G = dt_run_graph(t, tokens, labels, n, compute_grad != 0);
    if (!G) return -1;
    ggml_backend_tensor_get(G->loss, out_loss, 0, sizeof(float));
    if (!std::isfinite(*out_loss)) return fail(t, "loss is not finite (learning rate too high?)");
    if (compute_grad) {
        std::vector<float> g;
        size_t off = 0;
        for (ggml_tensor * p : t->params) {
            ggml_tensor * gp = ggml_graph_get_grad(G->gf, p);
            const int64_t ne = ggml_nelements(p);
            if (gp) {
                g.resize(ne);
                ggml_backend_tensor_get(gp, g.data(), 0, ne * sizeof(float));
                for (int64_t i = 0; i < ne; i++) t->grad[off + i] += g[i];
            }
            off += ne;
        }
    }
    return 0;
}

int dt_trainer_get_grads(dt_trainer * t, float * out) {
    memcpy(out, t->grad.data(), t->grad.size() * sizeof(float));
    return 0;
}

int dt_trainer_logits(dt_trainer * t, const int32_t * tokens, int32_t n, float * out) {
    dt_graph * G = dt_run_graph(t, tokens, nullptr, n, false);
    if (!G) return -1;
    ggml_backend_tensor_get(G->logits, out, 0, (size_t) n * t->n_vocab * sizeof(float));
    return 0;
}

// ---------------------------------------------------------------- 5. AdamW

int dt_trainer_adamw_step(dt_trainer * t, float lr, float beta1, float beta2, float eps, float wd, float clip, int32_t accum, float * out_norm) {
    const size_t n = t->grad.size();
    const float inv_accum = 1.0f / (float) (accum > 0 ? accum : 1);
    double sq = 0.0;
    for (size_t i = 0; i < n; i++) { t->grad[i] *= inv_accum; sq += (double) t->grad[i] * t->grad[i]; }
    const float norm = (float) std::sqrt(sq);
    if (out_norm) *out_norm = norm;
    if (!std::isfinite(norm)) return fail(t, "gradient is not finite");
    const float clip_scale = clip > 0.0f && norm > clip ? clip / norm : 1.0f;
    t->step += 1;
    const float bc1 = 1.0f - std::pow(beta1, (float) t->step);
    const float bc2 = 1.0f - std::pow(beta2, (float) t->step);
    std::vector<float> w(n);
    dt_trainer_get_params(t, w.data());
    for (size_t i = 0; i < n; i++) {
        const float g = t->grad[i] * clip_scale;
        t->m[i] = beta1 * t->m[i] + (1.0f - beta1) * g;
        t->v[i] = beta2 * t->v[i] + (1.0f - beta2) * g * g;
        const float mhat = t->m[i] / bc1, vhat = t->v[i] / bc2;
        w[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + wd * w[i]); // decoupled weight decay
        t->grad[i] = 0.0f;
    }
    dt_trainer_set_params(t, w.data());
    return 0;
}

int dt_trainer_get_optimizer(dt_trainer * t, float * m, float * v, int64_t * step) {
    memcpy(m, t->m.data(), t->m.size() * sizeof(float));
    memcpy(v, t->v.data(), t->v.size() * sizeof(float));
    *step = t->step;
    return 0;
}

int dt_trainer_set_optimizer(dt_trainer * t, const float * m, const float * v, int64_t step) {
    memcpy(t->m.data(), m, t->m.size() * sizeof(float));
    memcpy(t->v.data(), v, t->v.size() * sizeof(float));
    t->step = step;
    return 0;
}

} // extern "C"
