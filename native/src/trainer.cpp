// LoRA training on a GGUF model with ggml, on the CPU or a GPU. Read in order:
//   0. trainer_backend.cpp: open the device (CUDA, Vulkan, Metal or the CPU) and the graph scheduler
//   1. trainer_model.cpp: hyperparameters, base weights in their stored type, transposed copies for the
//      backward, and 2. the LoRA parameters: A (Kaiming-uniform) and B (zero), so step 0 is the base
//   3. trainer_forward.cpp: the Llama/Qwen2 decoder with W·x + (alpha/r)·B·(A·x) in every adapted matrix
//   4. trainer_graph.cpp (masked cross-entropy, graph cache) and trainer_backward.cpp (the backward)
//   5. trainer_optim.cpp: AdamW on the device
// and the C API here.
#include "trainer_internal.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>

// ---------------------------------------------------------------- C API

extern "C" {

dt_trainer * dt_trainer_init(const dt_trainer_params * p, char * error, size_t error_len) {
    auto * t = new dt_trainer();
    const char * portable = getenv("DOCTUNE_PORTABLE_BACKWARD");
    t->portable_backward = portable && *portable && strcmp(portable, "0") != 0;
    const char * profile = getenv("DOCTUNE_PROFILE");
    t->profile.on = profile && *profile && strcmp(profile, "0") != 0;
    bool ok = p && p->model_path && p->backend_dirs && p->n_backend_dirs > 0 &&
              dt_open_device(t, p->backend_dirs, p->n_backend_dirs, p->device, p->n_threads, p->ggml_matmul != 0) &&
              dt_load_model(t, p->model_path, p->compact_transposed != 0) && dt_init_lora(t, p->rank, p->alpha, p->targets, p->seed) && dt_make_scheduler(t) &&
              dt_choose_precision(t, p->precision);
    if (!ok) {
        if (error && error_len) snprintf(error, error_len, "%s", t->error.empty() ? "invalid parameters" : t->error.c_str());
        dt_trainer_free(t);
        return nullptr;
    }
    return t;
}

void dt_trainer_free(dt_trainer * t) {
    if (!t) return;
    t->graph.reset();
    if (t->sched) ggml_backend_sched_free(t->sched);
    if (t->sched_measure) ggml_backend_sched_free(t->sched_measure);
    for (ggml_backend_buffer_t b : t->probe_buffers) ggml_backend_buffer_free(b);
    for (ggml_context * c : t->probe_contexts) ggml_free(c);
    for (ggml_backend_buffer_t b : { t->buf_o, t->buf_g, t->buf_p, t->buf_wt, t->buf_w }) if (b) ggml_backend_buffer_free(b);
    for (ggml_context * c : { t->ctx_o, t->ctx_g, t->ctx_p, t->ctx_wt, t->ctx_w }) if (c) ggml_free(c);
    if (t->gguf) gguf_free(t->gguf);
    if (t->backend && t->backend != t->cpu) ggml_backend_free(t->backend);
    if (t->cpu) ggml_backend_free(t->cpu);
    if (t->threadpool) t->threadpool_free(t->threadpool);
    // The backend libraries stay loaded: ggml keeps their registration for the life of the process.
    delete t;
}

int dt_list_devices(const char * const * dirs, int32_t n_dirs, dt_device_info * out, int32_t max, char * notes, size_t notes_len) {
    if (!dirs || n_dirs <= 0 || !out || max <= 0) return -1;
    return dt_list_devices_impl(dirs, n_dirs, out, max, notes, notes_len);
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
    dt_describe_device(t, &info->device);
    snprintf(info->notes, sizeof(info->notes), "%s", t->notes.c_str());
    info->n_splits = t->last_splits;
    info->n_fallbacks = t->max_fallbacks;
    info->cpu_matmul = t->cpu_matmul ? 1 : 0;
    info->precision = t->precision;
    info->checkpointing = t->checkpointing ? 1 : 0;
    snprintf(info->precision_note, sizeof(info->precision_note), "%s", t->precision_note.c_str());
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

int dt_trainer_loss(dt_trainer * t, const int32_t * tokens, const int32_t * labels, int32_t n, int32_t n_seq, int32_t compute_grad, float * out_loss) {
    if (!labels) return fail(t, "labels are required");
    dt_graph * G = dt_run_graph(t, { tokens, labels, n, n_seq }, compute_grad != 0);
    if (!G) return -1;
    ggml_backend_tensor_get(G->loss, out_loss, 0, sizeof(float));
    if (!std::isfinite(*out_loss)) return fail(t, "loss is not finite (learning rate too high?)");
    if (compute_grad) t->has_grads = true;
    return 0;
}

int dt_trainer_get_grads(dt_trainer * t, float * out) {
    size_t off = 0;
    for (ggml_tensor * g : t->grads) { ggml_backend_tensor_get(g, out + off, 0, ggml_nbytes(g)); off += ggml_nelements(g); }
    return 0;
}

int dt_trainer_logits(dt_trainer * t, const int32_t * tokens, int32_t n, float * out) {
    dt_graph * G = dt_run_graph(t, { tokens, nullptr, n, 1 }, false);
    if (!G) return -1;
    ggml_backend_tensor_get(G->logits, out, 0, (size_t) n * t->n_vocab * sizeof(float));
    return 0;
}

int dt_trainer_plan(dt_trainer * t, int32_t n_tokens, int32_t n_seq, int32_t reserve, dt_memory_plan * out) {
    if (n_tokens <= 0 || n_seq <= 0) return fail(t, "the step needs at least one token and one sequence");
    if ((int64_t) n_tokens * n_seq * t->n_vocab > INT32_MAX) return fail(t, "batch too large for this vocabulary (lower --batch or --seq)");
    dt_graph_key key;
    key.T = n_tokens; key.B = n_seq; key.n_lab = n_tokens * n_seq; key.grad = true; key.loss = true;
    t->graph.reset(); // the plan's graph takes the shared metadata buffer
    std::unique_ptr<dt_graph> G = dt_build_graph(t, key);
    if (!G) return -1;
    memset(out, 0, sizeof(*out));
    out->weights = ggml_backend_buffer_get_size(t->buf_w);
    out->transposed = t->buf_wt ? ggml_backend_buffer_get_size(t->buf_wt) : 0;
    out->lora = ggml_backend_buffer_get_size(t->buf_p);
    out->optimizer = ggml_backend_buffer_get_size(t->buf_g) + ggml_backend_buffer_get_size(t->buf_o);
    std::vector<size_t> sizes(ggml_backend_sched_get_n_backends(t->sched_measure), 0);
    ggml_backend_sched_reserve_size(t->sched_measure, G->gf, sizes.data());
    out->compute = sizes[0]; // the device's share (the CPU's, if any, is host memory)
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(t->dev, &free, &total);
    out->device_free = free;
    out->device_total = total;
    if (reserve) {
        // A graph a scheduler has split is not given to another: the live scheduler gets a fresh one.
        G.reset();
        G = dt_build_graph(t, key);
        if (!G) return -1;
        if (!ggml_backend_sched_reserve(t->sched, G->gf)) {
            return fail(t, "out of memory on " + t->backend_name + ": the step needs " + std::to_string(out->compute >> 20) + " MiB, " +
                           std::to_string(free >> 20) + " MiB are free (lower --batch or --seq)");
        }
        t->reserved_compute = out->compute;
    }
    return 0;
}

int dt_trainer_set_checkpointing(dt_trainer * t, int32_t on) {
    if (!t) return -1;
    t->checkpointing = on != 0;
    return 0;
}

int dt_trainer_set_profile(dt_trainer * t, int32_t on) {
    if (!t) return -1;
    dt_profile_set(t, on != 0);
    return 0;
}

int dt_trainer_profile(dt_trainer * t, char * out, size_t out_len, int32_t top, int32_t reset) {
    if (!t || !out || out_len == 0) return -1;
    const std::string report = dt_profile_report(t->profile, top > 0 ? top : 20);
    snprintf(out, out_len, "%s", report.c_str());
    if (reset) {
        t->profile.by_op.clear();
        t->profile.by_shape.clear();
        t->profile.total_us = 0.0;
    }
    return (int) report.size();
}

// ---------------------------------------------------------------- 5. AdamW (trainer_optim.cpp)

int dt_trainer_adamw_step(dt_trainer * t, float lr, float beta1, float beta2, float eps, float wd, float clip, int32_t accum, float * out_norm) {
    return dt_optimizer_step(t, lr, beta1, beta2, eps, wd, clip, accum, out_norm);
}

int dt_trainer_get_optimizer(dt_trainer * t, float * m, float * v, int64_t * step) {
    size_t off = 0;
    for (size_t i = 0; i < t->params.size(); i++) {
        ggml_backend_tensor_get(t->moments_m[i], m + off, 0, ggml_nbytes(t->moments_m[i]));
        ggml_backend_tensor_get(t->moments_v[i], v + off, 0, ggml_nbytes(t->moments_v[i]));
        off += ggml_nelements(t->params[i]);
    }
    *step = t->step;
    return 0;
}

int dt_trainer_set_optimizer(dt_trainer * t, const float * m, const float * v, int64_t step) {
    size_t off = 0;
    for (size_t i = 0; i < t->params.size(); i++) {
        ggml_backend_tensor_set(t->moments_m[i], m + off, 0, ggml_nbytes(t->moments_m[i]));
        ggml_backend_tensor_set(t->moments_v[i], v + off, 0, ggml_nbytes(t->moments_v[i]));
        off += ggml_nelements(t->params[i]);
    }
    t->step = step;
    return 0;
}

} // extern "C"
