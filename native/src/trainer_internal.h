// Internal shared state of the trainer (native/src only): the handle behind the C API, its layers and the
// per-shape graph cache. trainer_model.cpp loads, trainer_graph.cpp builds and runs, trainer.cpp is the C API.
#pragma once

#include "doctune_trainer.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "gguf.h"

#include <memory>
#include <string>
#include <vector>

inline const char * DT_TARGET_NAMES[DT_N_TARGETS] = {
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

inline int fail(dt_trainer * t, const std::string & msg) {
    t->error = msg;
    return -1;
}

// trainer_model.cpp
bool dt_load_cpu_backend(dt_trainer * t, const char * dir, int n_threads);
bool dt_load_model(dt_trainer * t, const char * path);
bool dt_init_lora(dt_trainer * t, int32_t rank, float alpha, uint32_t targets, uint64_t seed);

// trainer_graph.cpp: checks the inputs, reuses or builds the graph for this shape, sets inputs, computes.
dt_graph * dt_run_graph(dt_trainer * t, const int32_t * tokens, const int32_t * labels, int T, bool grad);
