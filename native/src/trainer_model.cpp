// Loading: the ggml CPU backend best suited to this processor, the GGUF's hyperparameters and base weights
// (kept in their stored type), and the LoRA parameters.
#include "trainer_internal.h"

#include <dlfcn.h>
#include <dirent.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

// ---------------------------------------------------------------- 1. backend and model

// Best CPU backend library in `dir` for this processor (each variant reports a score; 0 = unsupported).
bool dt_load_cpu_backend(dt_trainer * t, const char * dir, int n_threads) {
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

bool dt_load_model(dt_trainer * t, const char * path) {
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

bool dt_init_lora(dt_trainer * t, int32_t rank, float alpha, uint32_t targets, uint64_t seed) {
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

