// LoRA training on a GGUF model with ggml, read top to bottom:
//   1. load: pick the ggml backend, read hyperparameters and base weights from the GGUF (any tensor type)
//   2. LoRA parameters: A (Kaiming-uniform) and B (zero) for every targeted matrix, so step 0 is the base
//   3. forward: the Llama/Qwen2 decoder with W·x + (alpha/r)·B·(A·x) in every adapted matrix
//   4. loss and backward: masked cross-entropy, ggml's autodiff, gradients copied to the host
//   5. AdamW on the host: the LoRA parameters are small, and this keeps clipping and state explicit
#include "doctune_trainer.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "gguf.h"

#include <dlfcn.h>
#include <dirent.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

static const char * DT_TARGET_NAMES[DT_N_TARGETS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
};

struct dt_lora {
    ggml_tensor * a = nullptr; // ne = [n_in, r]
    ggml_tensor * b = nullptr; // ne = [r, n_out]
};

struct dt_layer {
    ggml_tensor * attn_norm = nullptr;
    ggml_tensor * w[DT_N_TARGETS] = {};      // q, k, v, o, gate, up, down
    ggml_tensor * bias[3] = {};              // q, k, v biases (qwen2)
    ggml_tensor * ffn_norm = nullptr;
    dt_lora lora[DT_N_TARGETS];
};

struct dt_inputs {
    ggml_tensor * tokens;  // I32 [T]
    ggml_tensor * pos;     // I32 [T]
    ggml_tensor * mask;    // F32 [T, T], causal
};

struct dt_graph {
    ggml_context * ctx = nullptr;
    ggml_gallocr_t galloc = nullptr;
    ggml_cgraph * gf = nullptr;
    dt_inputs in{};
    ggml_tensor * logits = nullptr, * labels = nullptr, * label_rows = nullptr, * loss = nullptr;
    ~dt_graph() {
        if (galloc) ggml_gallocr_free(galloc);
        if (ctx) ggml_free(ctx);
    }
};

struct dt_graph_key {
    int T = 0, n_labeled = 0;
    bool grad = false, loss = false;
    bool operator==(const dt_graph_key & o) const { return T == o.T && n_labeled == o.n_labeled && grad == o.grad && loss == o.loss; }
};

struct dt_trainer {
    std::string error;
    std::string arch;
    void * backend_lib = nullptr;
    ggml_backend_t backend = nullptr;
    std::string backend_name;

    int32_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx_train = 0, n_rot = 0;
    float rms_eps = 1e-5f, rope_base = 10000.0f;
    int rope_mode = 0;

    gguf_context * gguf = nullptr;
    ggml_context * ctx_w = nullptr;            // base weights
    ggml_backend_buffer_t buf_w = nullptr;
    ggml_tensor * tok_embd = nullptr, * out_norm = nullptr, * output = nullptr;
    std::vector<dt_layer> layers;

    int32_t rank = 0;
    float scale = 0.0f;                         // alpha / rank
    ggml_context * ctx_p = nullptr;             // LoRA parameters
    ggml_backend_buffer_t buf_p = nullptr;
    std::vector<ggml_tensor *> params;
    int64_t n_params = 0;

    std::vector<float> grad, m, v;              // flattened over params
    int64_t step = 0;

    // The last graph built, reused while sequence length and label count stay the same.
    std::unique_ptr<dt_graph> graph;
    dt_graph_key graph_key;
};

static int fail(dt_trainer * t, const std::string & msg) {
    t->error = msg;
    return -1;
}

// ---------------------------------------------------------------- 1. backend and model

// Best CPU backend library in `dir` for this processor (each variant reports a score; 0 = unsupported).
static bool load_cpu_backend(dt_trainer * t, const char * dir, int n_threads) {
    DIR * d = opendir(dir);
    if (!d) return fail(t, std::string("cannot open backend folder ") + dir), false;
    std::string best;
    int best_score = 0;
    while (dirent * e = readdir(d)) {
        std::string name = e->d_name;
        if (name.find("ggml-cpu") == std::string::npos) continue;
        std::string path = std::string(dir) + "/" + name;
        void * h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        auto score_fn = (int (*)(void)) dlsym(h, "ggml_backend_score");
        int score = score_fn ? score_fn() : 1;
        if (score > best_score) { best_score = score; best = path; }
        dlclose(h);
    }
    closedir(d);
    if (best.empty()) return fail(t, std::string("no usable ggml CPU backend in ") + dir), false;
    t->backend_lib = dlopen(best.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto init_fn = t->backend_lib ? (ggml_backend_reg_t (*)(void)) dlsym(t->backend_lib, "ggml_backend_init") : nullptr;
    if (!init_fn) return fail(t, "cannot load " + best), false;
    ggml_backend_reg_t reg = init_fn();
    if (!reg || ggml_backend_reg_dev_count(reg) == 0) return fail(t, "backend has no device: " + best), false;
    t->backend = ggml_backend_dev_init(ggml_backend_reg_dev_get(reg, 0), nullptr);
    if (!t->backend) return fail(t, "cannot start backend " + best), false;
    auto set_threads = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (set_threads) set_threads(t->backend, n_threads > 0 ? n_threads : 1);
    t->backend_name = ggml_backend_name(t->backend);
    return true;
}

// Typed metadata access that never trips gguf's type asserts (they abort the process).
static bool kv_int(const gguf_context * g, const std::string & key, int32_t & out) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0) return false;
    switch (gguf_get_kv_type(g, id)) {
        case GGUF_TYPE_UINT32: out = (int32_t) gguf_get_val_u32(g, id); return true;
        case GGUF_TYPE_INT32:  out = gguf_get_val_i32(g, id); return true;
        case GGUF_TYPE_UINT64: out = (int32_t) gguf_get_val_u64(g, id); return true;
        default: return false;
    }
}

static bool kv_float(const gguf_context * g, const std::string & key, float & out) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_FLOAT32) return false;
    out = gguf_get_val_f32(g, id);
    return true;
}

static ggml_tensor * weight(dt_trainer * t, const std::string & name, bool required) {
    ggml_tensor * w = ggml_get_tensor(t->ctx_w, name.c_str());
    if (!w && required) fail(t, "model has no tensor " + name);
    return w;
}

// Types whose OUT_PROD (the input gradient of a frozen weight) the CPU backend implements.
static bool supports_backward(ggml_type type) {
    switch (type) {
        case GGML_TYPE_F32: case GGML_TYPE_F16:
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0:
        case GGML_TYPE_MXFP4: case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K:
        case GGML_TYPE_Q6_K: case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0: case GGML_TYPE_IQ2_XXS: case GGML_TYPE_IQ2_XS:
        case GGML_TYPE_IQ3_XXS: case GGML_TYPE_IQ1_S: case GGML_TYPE_IQ1_M: case GGML_TYPE_IQ4_NL: case GGML_TYPE_IQ4_XS:
        case GGML_TYPE_IQ3_S: case GGML_TYPE_IQ2_S:
        case GGML_TYPE_I32: // not a weight, but harmless
            return true;
        default:
            return false;
    }
}

static bool load_model(dt_trainer * t, const char * path) {
    gguf_init_params gp = { /*no_alloc*/ true, &t->ctx_w };
    t->gguf = gguf_init_from_file(path, gp);
    if (!t->gguf) return fail(t, std::string("cannot read GGUF ") + path), false;
    int64_t arch_id = gguf_find_key(t->gguf, "general.architecture");
    if (arch_id < 0 || gguf_get_kv_type(t->gguf, arch_id) != GGUF_TYPE_STRING) return fail(t, "model has no general.architecture"), false;
    t->arch = gguf_get_val_str(t->gguf, arch_id);
    if (t->arch == "llama") t->rope_mode = 0;                      // GGML_ROPE_TYPE_NORM
    else if (t->arch == "qwen2") t->rope_mode = GGML_ROPE_TYPE_NEOX;
    else return fail(t, "unsupported architecture \"" + t->arch + "\" (supported: llama, qwen2)"), false;

    const std::string a = t->arch;
    if (!kv_int(t->gguf, a + ".embedding_length", t->n_embd) || !kv_int(t->gguf, a + ".block_count", t->n_layer) ||
        !kv_int(t->gguf, a + ".attention.head_count", t->n_head) || !kv_int(t->gguf, a + ".feed_forward_length", t->n_ff)) {
        return fail(t, "model metadata lacks embedding_length, block_count, head_count or feed_forward_length"), false;
    }
    t->n_head_kv = t->n_head;
    kv_int(t->gguf, a + ".attention.head_count_kv", t->n_head_kv);
    t->n_ctx_train = 2048;
    kv_int(t->gguf, a + ".context_length", t->n_ctx_train);
    t->n_rot = t->n_embd / t->n_head;
    kv_int(t->gguf, a + ".rope.dimension_count", t->n_rot);
    kv_float(t->gguf, a + ".attention.layer_norm_rms_epsilon", t->rms_eps);
    kv_float(t->gguf, a + ".rope.freq_base", t->rope_base);
    if (t->n_head <= 0 || t->n_head_kv <= 0 || t->n_head % t->n_head_kv != 0 || t->n_embd % t->n_head != 0) {
        return fail(t, "inconsistent attention head counts"), false;
    }

    t->tok_embd = weight(t, "token_embd.weight", true);
    t->out_norm = weight(t, "output_norm.weight", true);
    t->output = weight(t, "output.weight", false);
    if (!t->output) t->output = t->tok_embd; // tied embeddings
    if (!t->tok_embd || !t->out_norm) return false;
    t->n_vocab = (int32_t) t->tok_embd->ne[1];
    t->layers.resize(t->n_layer);
    for (int l = 0; l < t->n_layer; l++) {
        dt_layer & L = t->layers[l];
        const std::string p = "blk." + std::to_string(l) + ".";
        L.attn_norm = weight(t, p + "attn_norm.weight", true);
        L.ffn_norm = weight(t, p + "ffn_norm.weight", true);
        for (int k = 0; k < DT_N_TARGETS; k++) {
            L.w[k] = weight(t, p + DT_TARGET_NAMES[k] + ".weight", true);
            if (!L.w[k]) return false;
        }
        for (int k = 0; k < 3; k++) L.bias[k] = weight(t, p + DT_TARGET_NAMES[k] + ".bias", false);
        if (!L.attn_norm || !L.ffn_norm) return false;
    }
    // The backward of a frozen weight is OUT_PROD(W, ·), which ggml's CPU backend has for F32, F16 and the
    // quantized types but not BF16: BF16 matrices are widened to F32 (exact), everything else stays as stored.
    for (int64_t i = 0; i < gguf_get_n_tensors(t->gguf); i++) {
        ggml_tensor * w = ggml_get_tensor(t->ctx_w, gguf_get_tensor_name(t->gguf, i));
        if (w->type == GGML_TYPE_BF16) {
            w->type = GGML_TYPE_F32;
            w->nb[0] = sizeof(float);
            for (int d = 1; d < GGML_MAX_DIMS; d++) w->nb[d] = w->nb[d - 1] * w->ne[d - 1];
        } else if (!supports_backward(w->type)) {
            return fail(t, std::string("tensor ") + ggml_get_name(w) + " has type " + ggml_type_name(w->type) + ", which the CPU trainer cannot train through"), false;
        }
    }
    t->buf_w = ggml_backend_alloc_ctx_tensors(t->ctx_w, t->backend);
    if (!t->buf_w) return fail(t, "out of memory for the base weights"), false;

    FILE * f = fopen(path, "rb");
    if (!f) return fail(t, std::string("cannot open ") + path), false;
    std::vector<uint8_t> buf;
    const size_t data_offset = gguf_get_data_offset(t->gguf);
    for (int64_t i = 0; i < gguf_get_n_tensors(t->gguf); i++) {
        ggml_tensor * w = ggml_get_tensor(t->ctx_w, gguf_get_tensor_name(t->gguf, i));
        const bool widen = gguf_get_tensor_type(t->gguf, i) == GGML_TYPE_BF16;
        const size_t n = widen ? (size_t) ggml_nelements(w) * 2 : ggml_nbytes(w);
        buf.resize(n);
        if (fseek(f, (long) (data_offset + gguf_get_tensor_offset(t->gguf, i)), SEEK_SET) != 0 || fread(buf.data(), 1, n, f) != n) {
            fclose(f);
            return fail(t, std::string("truncated tensor data for ") + ggml_get_name(w)), false;
        }
        if (widen) {
            std::vector<float> wide(ggml_nelements(w));
            for (size_t k = 0; k < wide.size(); k++) {
                uint32_t bits = (uint32_t) ((const uint16_t *) buf.data())[k] << 16;
                memcpy(&wide[k], &bits, sizeof(float));
            }
            ggml_backend_tensor_set(w, wide.data(), 0, wide.size() * sizeof(float));
        } else {
            ggml_backend_tensor_set(w, buf.data(), 0, n);
        }
    }
    fclose(f);
    return true;
}

// ---------------------------------------------------------------- 2. LoRA parameters

static bool init_lora(dt_trainer * t, int32_t rank, float alpha, uint32_t targets, uint64_t seed) {
    if (rank <= 0) return fail(t, "rank must be positive"), false;
    if (targets == 0) return fail(t, "no LoRA targets"), false;
    t->rank = rank;
    t->scale = alpha / (float) rank;
    const size_t n_tensors = (size_t) t->n_layer * DT_N_TARGETS * 2;
    ggml_init_params ip = { ggml_tensor_overhead() * n_tensors, nullptr, true };
    t->ctx_p = ggml_init(ip);
    for (int l = 0; l < t->n_layer; l++) {
        for (int k = 0; k < DT_N_TARGETS; k++) {
            if (!(targets & (1u << k))) continue;
            ggml_tensor * w = t->layers[l].w[k];
            dt_lora & lo = t->layers[l].lora[k];
            lo.a = ggml_new_tensor_2d(t->ctx_p, GGML_TYPE_F32, w->ne[0], rank); // [n_in, r]
            lo.b = ggml_new_tensor_2d(t->ctx_p, GGML_TYPE_F32, rank, w->ne[1]); // [r, n_out]
            ggml_format_name(lo.a, "%s.lora_a", ggml_get_name(w));
            ggml_format_name(lo.b, "%s.lora_b", ggml_get_name(w));
            ggml_set_param(lo.a);
            ggml_set_param(lo.b);
            t->params.push_back(lo.a);
            t->params.push_back(lo.b);
        }
    }
    t->buf_p = ggml_backend_alloc_ctx_tensors(t->ctx_p, t->backend);
    if (!t->buf_p) return fail(t, "out of memory for the LoRA parameters"), false;
    // PEFT's init: A ~ U(-1/sqrt(n_in), 1/sqrt(n_in)) (Kaiming-uniform, a = sqrt(5)), B = 0.
    std::mt19937_64 rng(seed);
    std::vector<float> host;
    for (ggml_tensor * p : t->params) {
        const int64_t n = ggml_nelements(p);
        host.assign(n, 0.0f);
        if (strstr(ggml_get_name(p), ".lora_a")) {
            std::uniform_real_distribution<float> u(-1.0f / std::sqrt((float) p->ne[0]), 1.0f / std::sqrt((float) p->ne[0]));
            for (auto & x : host) x = u(rng);
        }
        ggml_backend_tensor_set(p, host.data(), 0, n * sizeof(float));
        t->n_params += n;
    }
    t->grad.assign(t->n_params, 0.0f);
    t->m.assign(t->n_params, 0.0f);
    t->v.assign(t->n_params, 0.0f);
    return true;
}

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
static dt_graph * run_graph(dt_trainer * t, const int32_t * tokens, const int32_t * labels, int T, bool grad) {
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

// ---------------------------------------------------------------- C API

extern "C" {

dt_trainer * dt_trainer_init(const dt_trainer_params * p, char * error, size_t error_len) {
    auto * t = new dt_trainer();
    bool ok = p && p->model_path && p->backends_dir && load_cpu_backend(t, p->backends_dir, p->n_threads) &&
              load_model(t, p->model_path) && init_lora(t, p->rank, p->alpha, p->targets, p->seed);
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
    dt_graph * G = run_graph(t, tokens, labels, n, compute_grad != 0);
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
    dt_graph * G = run_graph(t, tokens, nullptr, n, false);
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
