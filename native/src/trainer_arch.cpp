// 1a. Architectures: llama (Llama 2/3, SmolLM2; Llama 3's rope_freqs), qwen2 (q/k/v biases), qwen3 (per-head
// q/k RMSNorm), gemma3 (scaled embeddings, q/k norm, norms after attention and FFN, GELU-gated FFN, local
// sliding-window layers with their own RoPE base) and phi3 (fused QKV and gate|up matrices, partial RoPE,
// LongRoPE factors). Every hyperparameter is read from the GGUF exactly as llama.cpp reads it (src/models/
// <arch>.cpp, llama-model.cpp, llama-context.cpp), since the adapter must act the same in llama.cpp.
#include "trainer_internal.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

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

static bool kv_str(const gguf_context * g, const std::string & key, std::string & out) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_STRING) return false;
    out = gguf_get_val_str(g, id);
    return true;
}

static bool has_key(const gguf_context * g, const std::string & key) { return gguf_find_key(g, key.c_str()) >= 0; }

bool dt_ablated(const char * feature) {
    const char * list = getenv("DOCTUNE_TRAINER_ABLATE");
    if (!list || !*list) return false;
    const std::string s = std::string(",") + list + ",";
    return s.find(std::string(",") + feature + ",") != std::string::npos;
}

// The architectures this trainer implements; the error below and dt_supported_architectures() read this one list.
static const char * const ARCHITECTURES[] = { "llama", "qwen2", "qwen3", "gemma3", "phi3" };

static std::string join(const char * const * items, size_t n, const char * sep) {
    std::string out;
    for (size_t i = 0; i < n; i++) out += (i ? sep : "") + std::string(items[i]);
    return out;
}

const char * dt_supported_architectures(void) {
    static const std::string list = join(ARCHITECTURES, sizeof ARCHITECTURES / sizeof *ARCHITECTURES, ",");
    return list.c_str();
}

bool dt_read_hparams(dt_trainer * t) {
    const gguf_context * g = t->gguf;
    if (!kv_str(g, "general.architecture", t->arch)) return fail(t, "model has no general.architecture"), false;
    const std::string & a = t->arch;
    if (a == "llama") t->rope_mode = 0;                                    // GGML_ROPE_TYPE_NORM
    else if (a == "qwen2" || a == "qwen3" || a == "gemma3" || a == "phi3") t->rope_mode = GGML_ROPE_TYPE_NEOX;
    else return fail(t, "unsupported architecture \"" + a + "\" (supported: " + join(ARCHITECTURES, sizeof ARCHITECTURES / sizeof *ARCHITECTURES, ", ") + ")"), false;
    int32_t experts = 0;
    if (kv_int(g, a + ".expert_count", experts) && experts > 0) {
        return fail(t, "mixture-of-experts models (" + std::to_string(experts) + " experts) cannot be trained"), false;
    }

    if (!kv_int(g, a + ".embedding_length", t->n_embd) || !kv_int(g, a + ".block_count", t->n_layer) ||
        !kv_int(g, a + ".attention.head_count", t->n_head) || !kv_int(g, a + ".feed_forward_length", t->n_ff)) {
        return fail(t, "model metadata lacks embedding_length, block_count, head_count or feed_forward_length (per-layer arrays are not supported)"), false;
    }
    t->n_head_kv = t->n_head;
    kv_int(g, a + ".attention.head_count_kv", t->n_head_kv);
    if (t->n_head <= 0 || t->n_head_kv <= 0 || t->n_head % t->n_head_kv != 0 || t->n_embd <= 0 || t->n_layer <= 0) {
        return fail(t, "inconsistent attention head counts"), false;
    }
    t->n_ctx_train = 2048;
    kv_int(g, a + ".context_length", t->n_ctx_train);
    // Head size: attention.key_length where the GGUF has it (Qwen3, Gemma 3), else n_embd / n_head.
    t->head_dim = t->n_embd / t->n_head;
    kv_int(g, a + ".attention.key_length", t->head_dim);
    int32_t value_length = t->head_dim;
    kv_int(g, a + ".attention.value_length", value_length);
    if (value_length != t->head_dim) return fail(t, "key and value heads of different sizes cannot be trained"), false;
    if (t->head_dim <= 0 || (!has_key(g, a + ".attention.key_length") && t->n_embd % t->n_head != 0)) {
        return fail(t, "inconsistent attention head size"), false;
    }
    t->n_embd_q = t->head_dim * t->n_head;
    t->n_embd_kv = t->head_dim * t->n_head_kv;
    t->n_rot = t->head_dim;
    kv_int(g, a + ".rope.dimension_count", t->n_rot);
    if (t->n_rot <= 0 || t->n_rot > t->head_dim || t->n_rot % 2 != 0) return fail(t, "invalid rope.dimension_count"), false;
    if (a == "llama" && t->n_rot != t->head_dim) return fail(t, "invalid n_rot for llama (must equal the head size)"), false;
    if (dt_ablated("partial_rope")) t->n_rot = t->head_dim; // (frequency factors, sized for the partial rotation, go too)
    kv_float(g, a + ".attention.layer_norm_rms_epsilon", t->rms_eps);

    // RoPE (llama-model.cpp load_hparams, llama-context.cpp): base, scaling type and factor, YaRN.
    kv_float(g, a + ".rope.freq_base", t->rope_base);
    std::string scaling = "linear";
    kv_str(g, a + ".rope.scaling.type", scaling);
    float factor = 0.0f;
    if (!kv_float(g, a + ".rope.scaling.factor", factor)) kv_float(g, a + ".rope.scale_linear", factor);
    float freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
    if (scaling == "none") freq_scale = 1.0f;
    else if (scaling == "yarn") {
        float log_mul = 0.0f;
        if (kv_float(g, a + ".rope.scaling.yarn_log_multiplier", log_mul) && log_mul != 0.0f) return fail(t, "YaRN with a log multiplier cannot be trained"), false;
        t->rope_ext_factor = 1.0f; // llama.cpp's mscale (0.1·ln f + 1) and its cancellation leave attn_factor as read
    } else if (scaling != "linear" && scaling != "longrope") return fail(t, "RoPE scaling \"" + scaling + "\" cannot be trained"), false;
    if (dt_ablated("rope_scale")) freq_scale = 1.0f;
    kv_float(g, a + ".rope.scaling.attn_factor", t->rope_attn_factor);
    if (dt_ablated("attn_factor")) t->rope_attn_factor = 1.0f;
    t->n_ctx_orig = t->n_ctx_train;
    kv_int(g, a + ".rope.scaling.original_context_length", t->n_ctx_orig);

    t->kq_scale = 1.0f / std::sqrt((float) t->head_dim);
    t->layers.assign(t->n_layer, dt_layer());
    for (dt_layer & L : t->layers) { L.rope_base = t->rope_base; L.rope_scale = freq_scale; }

    if (a == "phi3") {
        // Phi-3's attention.sliding_window is ignored, as llama.cpp ignores it ("Phi SWA is currently disabled").
        t->fused_qkv = !ggml_get_tensor(t->ctx_w, "blk.0.attn_q.weight");
        t->fused_gate_up = !ggml_get_tensor(t->ctx_w, "blk.0.ffn_gate.weight");
    }
    if (a == "gemma3") {
        float softcap = 0.0f;
        if (kv_float(g, a + ".final_logit_softcapping", softcap) && softcap != 0.0f) return fail(t, "final logit soft-capping cannot be trained"), false;
        t->ffn_act = dt_ablated("gelu") ? DT_ACT_SILU : DT_ACT_GELU;
        t->gelu_table = !dt_ablated("gelu_table");
        t->embd_scale = dt_ablated("embd_scale") ? 1.0f : std::sqrt((float) t->n_embd);
        // llama.cpp's f_attention_scale (gemma_pytorch's query_pre_attn_scalar): n_embd / n_head for the 27B
        // (62 layers), the head size otherwise.
        if (t->n_layer == 62 && !dt_ablated("attn_scale")) t->kq_scale = 1.0f / std::sqrt((float) (t->n_embd / t->n_head));
        int32_t window = 0;
        if (kv_int(g, a + ".attention.sliding_window", window) && window > 0 && !dt_ablated("swa")) {
            t->n_swa = window;
            int32_t period = 6;
            const std::string pk = a + ".attention.sliding_window_pattern";
            if (has_key(g, pk) && !kv_int(g, pk, period)) return fail(t, "a per-layer sliding_window_pattern cannot be trained"), false;
            float base_swa = 10000.0f;
            kv_float(g, a + ".rope.freq_base_swa", base_swa);
            for (int l = 0; l < t->n_layer; l++) {
                dt_layer & L = t->layers[l];
                L.swa = period == 0 || l % period < period - 1; // llama_hparams::set_swa_pattern
                if (L.swa && !dt_ablated("swa_rope")) { L.rope_base = base_swa; L.rope_scale = 1.0f; }
            }
        }
    }
    return true;
}

// Tensors beyond the llama layout, by the names llama.cpp gives them (llama-arch.cpp).
bool dt_bind_arch_tensors(dt_trainer * t) {
    auto get = [&](const std::string & name, bool required) -> ggml_tensor * {
        ggml_tensor * w = ggml_get_tensor(t->ctx_w, name.c_str());
        if (!w && required) fail(t, "model has no tensor " + name);
        return w;
    };
    const std::string & a = t->arch;
    // Llama 3's frequency factors; LongRoPE's short factors (the chat context, 4096 tokens, is within the
    // original context of every Phi-3/4 model, where llama.cpp picks the short ones).
    t->rope_factors = get("rope_freqs.weight", false);
    if (!t->rope_factors) t->rope_factors = get("rope_factors_short.weight", false);
    if (dt_ablated("rope_factors") || dt_ablated("partial_rope")) t->rope_factors = nullptr;
    if (t->rope_factors && (t->rope_factors->type != GGML_TYPE_F32 || ggml_nelements(t->rope_factors) != t->n_rot / 2)) {
        return fail(t, std::string(ggml_get_name(t->rope_factors)) + " must hold n_rot/2 F32 values"), false;
    }
    const bool qk_norm = a == "qwen3" || a == "gemma3";
    for (int l = 0; l < t->n_layer; l++) {
        dt_layer & L = t->layers[l];
        const std::string p = "blk." + std::to_string(l) + ".";
        if (qk_norm) {
            L.q_norm = get(p + "attn_q_norm.weight", true);
            L.k_norm = get(p + "attn_k_norm.weight", true);
            if (!L.q_norm || !L.k_norm) return false;
            if (L.q_norm->ne[0] != t->head_dim || L.k_norm->ne[0] != t->head_dim) return fail(t, p + "attn_q_norm/attn_k_norm must hold one head"), false;
            if (dt_ablated("qk_norm")) L.q_norm = L.k_norm = nullptr;
        }
        if (a == "gemma3") {
            L.attn_post_norm = get(p + "post_attention_norm.weight", true);
            L.ffn_post_norm = get(p + "post_ffw_norm.weight", true);
            if (!L.attn_post_norm || !L.ffn_post_norm) return false;
            if (dt_ablated("post_norm")) L.attn_post_norm = L.ffn_post_norm = nullptr;
        }
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(t->gguf); i++) {
        const char * name = gguf_get_tensor_name(t->gguf, i);
        if (strstr(name, "_exps.") || strstr(name, "ffn_gate_inp.")) return fail(t, "mixture-of-experts models cannot be trained"), false;
    }
    return true;
}
