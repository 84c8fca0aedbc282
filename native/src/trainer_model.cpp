// Loading: the ggml CPU backend best suited to this processor, the GGUF's hyperparameters and base weights
// (kept in their stored type), and the LoRA parameters.
#include "trainer_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

// ---------------------------------------------------------------- 1. model (the device is opened in trainer_backend.cpp)

static ggml_tensor * weight(dt_trainer * t, const std::string & name, bool required) {
    ggml_tensor * w = ggml_get_tensor(t->ctx_w, name.c_str());
    if (!w && required) fail(t, "model has no tensor " + name);
    return w;
}

static int seek(FILE * f, uint64_t offset) {
#ifdef _WIN32
    return _fseeki64(f, (__int64) offset, SEEK_SET);
#else
    return fseeko(f, (off_t) offset, SEEK_SET);
#endif
}

// Type of the transposed copy Wt (rows of n_out values). Re-encoding dequantized weights in transposed
// blocks adds a second rounding: Q8_0 keeps it near-lossless (input gradients within ~3% of an F32 twin
// for a Q4_K base), the stored type (compact) keeps memory lowest (~7%). F16, BF16 and F32 transpose exactly.
static ggml_type transposed_type(ggml_type type, int64_t n_out, bool compact) {
    if (type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16) return type;
    if (compact && !ggml_quantize_requires_imatrix(type) && n_out % ggml_blck_size(type) == 0) return type;
    if (n_out % ggml_blck_size(GGML_TYPE_Q8_0) == 0) return GGML_TYPE_Q8_0;
    return GGML_TYPE_F16;
}

int dt_transposed_type(int type, int64_t n_out, int compact) {
    return (int) transposed_type((ggml_type) type, n_out, compact != 0);
}

// Runs fn(begin, end) over [0, n) split across the processor's threads (loading only: the step itself uses
// the backend's own threads).
static void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)> & fn) {
    const int nt = (int) std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), n / 64 + 1));
    std::vector<std::thread> pool;
    for (int k = 0; k < nt; k++) pool.emplace_back([&, k] { fn(n * k / nt, n * (k + 1) / nt); });
    for (auto & th : pool) th.join();
}

// Wt = transpose(dequantize(W)), written in Wt's type. One F32 copy of W plus a block of Wt rows per thread.
static void make_transposed(const ggml_tensor * w, const uint8_t * raw, ggml_tensor * wt, std::vector<uint8_t> & out) {
    const int64_t n_in = w->ne[0], n_out = w->ne[1];
    std::vector<float> rows((size_t) n_in * n_out);
    const auto * traits = ggml_get_type_traits(w->type);
    const size_t row_bytes = ggml_row_size(w->type, n_in);
    parallel_for(n_out, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            if (w->type == GGML_TYPE_F32) memcpy(&rows[(size_t) r * n_in], raw + r * row_bytes, row_bytes);
            else traits->to_float(raw + r * row_bytes, &rows[(size_t) r * n_in], n_in);
        }
    });
    out.resize(ggml_nbytes(wt));
    const size_t out_row = ggml_row_size(wt->type, n_out);
    parallel_for(n_in, [&](int64_t c0, int64_t c1) {
        const int64_t block = 64;
        std::vector<float> cols((size_t) block * n_out);
        for (int64_t cb = c0; cb < c1; cb += block) {
            const int64_t nc = std::min(block, c1 - cb);
            for (int64_t r = 0; r < n_out; r++) {
                const float * src = &rows[(size_t) r * n_in + cb];
                for (int64_t c = 0; c < nc; c++) cols[(size_t) c * n_out + r] = src[c];
            }
            uint8_t * dst = out.data() + cb * out_row;
            if (wt->type == GGML_TYPE_F32) memcpy(dst, cols.data(), (size_t) nc * n_out * sizeof(float));
            else if (wt->type == GGML_TYPE_F16) ggml_fp32_to_fp16_row(cols.data(), (ggml_fp16_t *) dst, nc * n_out);
            else if (wt->type == GGML_TYPE_BF16) ggml_fp32_to_bf16_row(cols.data(), (ggml_bf16_t *) dst, nc * n_out);
            else ggml_quantize_chunk(wt->type, cols.data(), dst, 0, nc, n_out, nullptr);
        }
    });
}

bool dt_load_model(dt_trainer * t, const char * path, bool compact) {
    gguf_init_params gp = { /*no_alloc*/ true, &t->ctx_w };
    t->gguf = gguf_init_from_file(path, gp);
    if (!t->gguf) return fail(t, std::string("cannot read GGUF ") + path), false;
    if (!dt_read_hparams(t)) return false;

    t->tok_embd = weight(t, "token_embd.weight", true);
    t->out_norm = weight(t, "output_norm.weight", true);
    t->output.w = weight(t, "output.weight", false);
    if (!t->output.w) t->output.w = t->tok_embd; // tied embeddings
    if (!t->tok_embd || !t->out_norm) return false;
    t->n_vocab = (int32_t) t->tok_embd->ne[1];
    // Matrices and their shapes ne = [n_in, n_out], per slot (fused models fill DT_QKV and DT_UP only).
    const int64_t E = t->n_embd, F = t->n_ff, Eq = t->n_embd_q, Ekv = t->n_embd_kv;
    struct slot { int k; const char * name; int64_t n_in, n_out; };
    std::vector<slot> slots;
    if (t->fused_qkv) slots.push_back({ DT_QKV, "attn_qkv", E, Eq + 2 * Ekv });
    else slots.insert(slots.end(), { { DT_Q, "attn_q", E, Eq }, { DT_K, "attn_k", E, Ekv }, { DT_V, "attn_v", E, Ekv } });
    slots.push_back({ DT_O, "attn_output", Eq, E });
    if (t->fused_gate_up) slots.push_back({ DT_UP, "ffn_up", E, 2 * F });
    else slots.insert(slots.end(), { { DT_GATE, "ffn_gate", E, F }, { DT_UP, "ffn_up", E, F } });
    slots.push_back({ DT_DOWN, "ffn_down", F, E });
    for (int l = 0; l < t->n_layer; l++) {
        dt_layer & L = t->layers[l];
        const std::string p = "blk." + std::to_string(l) + ".";
        L.attn_norm = weight(t, p + "attn_norm.weight", true);
        L.ffn_norm = weight(t, p + "ffn_norm.weight", true);
        for (const slot & sl : slots) {
            const std::string name = p + sl.name + ".weight";
            L.w[sl.k].w = weight(t, name, true);
            if (!L.w[sl.k].w) return false;
            const ggml_tensor * w = L.w[sl.k].w;
            if (w->ne[0] != sl.n_in || w->ne[1] != sl.n_out || w->ne[2] != 1 || w->ne[3] != 1) {
                return fail(t, name + " has shape [" + std::to_string(w->ne[0]) + ", " + std::to_string(w->ne[1]) + "], expected [" +
                               std::to_string(sl.n_in) + ", " + std::to_string(sl.n_out) + "] from the metadata"), false;
            }
        }
        if (!t->fused_qkv) for (int k = 0; k < 3; k++) L.bias[k] = weight(t, p + DT_TARGET_NAMES[k] + ".bias", false);
        if (!L.attn_norm || !L.ffn_norm) return false;
    }
    if (!dt_bind_arch_tensors(t)) return false;

    // Transposed copies of the frozen matrices the gradient flows back through: every matrix but the
    // first layer's q, k and v (nothing trainable lies below them). The CPU GEMM reads W transposed as it is.
    std::map<const ggml_tensor *, ggml_tensor *> transposed;
    if (!t->cpu_matmul) {
        std::vector<dt_matrix *> ms = { &t->output };
        for (int l = 0; l < t->n_layer; l++) {
            for (int k = l == 0 ? DT_O : 0; k < DT_N_TARGETS; k++) if (t->layers[l].w[k].w) ms.push_back(&t->layers[l].w[k]);
        }
        ggml_init_params ip = { ggml_tensor_overhead() * (ms.size() + 1), nullptr, true };
        t->ctx_wt = ggml_init(ip);
        for (dt_matrix * m : ms) {
            const ggml_type type = transposed_type(m->w->type, m->w->ne[1], compact);
            m->wt = ggml_new_tensor_2d(t->ctx_wt, type, m->w->ne[1], m->w->ne[0]);
            ggml_format_name(m->wt, "%s.T", ggml_get_name(m->w));
            transposed[m->w] = m->wt;
        }
    }
    t->buf_w = ggml_backend_alloc_ctx_tensors(t->ctx_w, t->backend);
    if (!t->buf_w) {
        const size_t need = ggml_backend_alloc_ctx_tensors_from_buft_size(t->ctx_w, ggml_backend_get_default_buffer_type(t->backend));
        return fail(t, "out of memory on " + t->backend_name + " for the base weights (" + std::to_string(need >> 20) + " MiB)"), false;
    }
    ggml_backend_buffer_set_usage(t->buf_w, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    if (t->ctx_wt) {
        t->buf_wt = ggml_backend_alloc_ctx_tensors(t->ctx_wt, t->backend);
        if (!t->buf_wt) {
            const size_t need = ggml_backend_alloc_ctx_tensors_from_buft_size(t->ctx_wt, ggml_backend_get_default_buffer_type(t->backend));
            return fail(t, "out of memory on " + t->backend_name + " for the transposed weights (" + std::to_string(need >> 20) + " MiB)"), false;
        }
        ggml_backend_buffer_set_usage(t->buf_wt, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    }

    FILE * f = fopen(path, "rb");
    if (!f) return fail(t, std::string("cannot open ") + path), false;
    std::vector<uint8_t> buf, tbuf;
    const size_t data_offset = gguf_get_data_offset(t->gguf);
    for (int64_t i = 0; i < gguf_get_n_tensors(t->gguf); i++) {
        ggml_tensor * w = ggml_get_tensor(t->ctx_w, gguf_get_tensor_name(t->gguf, i));
        const size_t n = ggml_nbytes(w);
        buf.resize(n);
        if (seek(f, data_offset + gguf_get_tensor_offset(t->gguf, i)) != 0 || fread(buf.data(), 1, n, f) != n) {
            fclose(f);
            return fail(t, std::string("truncated tensor data for ") + ggml_get_name(w)), false;
        }
        ggml_backend_tensor_set(w, buf.data(), 0, n);
        auto it = transposed.find(w);
        if (it != transposed.end()) {
            make_transposed(w, buf.data(), it->second, tbuf);
            ggml_backend_tensor_set(it->second, tbuf.data(), 0, tbuf.size());
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
    // A fused matrix is adapted when any of the projections it holds is a target (llama.cpp applies one
    // LoRA pair to the fused tensor, as PEFT does to Phi-3's qkv_proj and gate_up_proj).
    const uint32_t qkv = (1u << DT_Q) | (1u << DT_K) | (1u << DT_V), gate_up = (1u << DT_GATE) | (1u << DT_UP);
    if (t->fused_qkv && (targets & qkv)) targets = (targets & ~qkv) | (1u << DT_QKV);
    if (t->fused_gate_up && (targets & gate_up)) targets = (targets & ~gate_up) | (1u << DT_UP);
    for (int l = 0; l < t->n_layer; l++) {
        for (int k = 0; k < DT_N_TARGETS; k++) {
            if (!(targets & (1u << k)) || !t->layers[l].w[k].w) continue;
            ggml_tensor * w = t->layers[l].w[k].w;
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
    return dt_init_optimizer(t);
}

