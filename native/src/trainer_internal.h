// Internal shared state of the trainer (native/src only): the handle behind the C API, its layers and the
// per-shape graph cache. trainer_backend.cpp picks the device, trainer_model.cpp loads, trainer_graph.cpp
// builds the forward and loss, trainer_backward.cpp the backward, trainer_optim.cpp runs AdamW on the
// device, trainer.cpp is the C API.
#pragma once

#include "doctune_trainer.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "gguf.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

inline const char * DT_TARGET_NAMES[DT_N_TARGETS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
};

struct dt_lora {
    ggml_tensor * a = nullptr;   // ne = [n_in, r]
    ggml_tensor * b = nullptr;   // ne = [r, n_out]
    ggml_tensor * ga = nullptr;  // accumulated gradients, same shapes
    ggml_tensor * gb = nullptr;
    ggml_tensor * ma = nullptr, * va = nullptr, * mb = nullptr, * vb = nullptr; // AdamW moments
};

// A frozen matrix: W ne = [n_in, n_out] as stored in the GGUF, and Wt ne = [n_out, n_in], a transposed copy
// in a type every backend multiplies with, so the input gradient is mul_mat(Wt, dy) instead of OUT_PROD.
struct dt_matrix {
    ggml_tensor * w = nullptr;
    ggml_tensor * wt = nullptr;
};

// Slots of dt_layer::w. A model with a fused QKV matrix (phi3) keeps it in DT_QKV and leaves k, v empty; one
// with a fused gate|up matrix keeps it in DT_UP (gate rows first) and leaves gate empty.
enum { DT_Q = 0, DT_K = 1, DT_V = 2, DT_O = 3, DT_GATE = 4, DT_UP = 5, DT_DOWN = 6, DT_QKV = DT_Q };

enum dt_ffn_act { DT_ACT_SILU = 0, DT_ACT_GELU = 1 };

struct dt_layer {
    ggml_tensor * attn_norm = nullptr;
    dt_matrix w[DT_N_TARGETS];               // q, k, v, o, gate, up, down (fused: see DT_QKV, DT_UP)
    ggml_tensor * bias[3] = {};              // q, k, v biases (qwen2)
    ggml_tensor * q_norm = nullptr, * k_norm = nullptr;                // [hd] per-head RMSNorm (qwen3, gemma3)
    ggml_tensor * attn_post_norm = nullptr, * ffn_post_norm = nullptr; // [E] norms after attention and FFN (gemma3)
    ggml_tensor * ffn_norm = nullptr;
    dt_lora lora[DT_N_TARGETS];
    bool swa = false;                        // sliding-window attention layer (gemma3's local layers)
    float rope_base = 10000.0f, rope_scale = 1.0f; // RoPE base frequency and frequency scale of this layer
};

struct dt_inputs {
    ggml_tensor * tokens = nullptr;    // I32 [T*B], sequence-major
    ggml_tensor * pos = nullptr;       // I32 [T]
    ggml_tensor * pos_neg = nullptr;   // I32 [T], -pos: the inverse rotation for RoPE's backward
    ggml_tensor * mask = nullptr;      // F32 [T, T], causal
    ggml_tensor * mask_swa = nullptr;  // F32 [T, T], causal within the sliding window (models with one)
    ggml_tensor * rows = nullptr;      // I32 [n_lab], positions that carry a loss (padded with unlabelled ones)
    ggml_tensor * targets = nullptr;   // I32 [n_lab], j*n_vocab + label_j: the label's entry in the flat softmax
    ggml_tensor * weights = nullptr;   // F32 [1, n_lab], 1/n_labelled per real position, 0 for padding
};

struct dt_graph_key {
    int T = 0, B = 0, n_lab = 0;
    bool grad = false, loss = false;
    bool operator<(const dt_graph_key & o) const {
        return std::tie(T, B, n_lab, grad, loss) < std::tie(o.T, o.B, o.n_lab, o.grad, o.loss);
    }
};

struct dt_graph {
    ggml_context * ctx = nullptr;
    ggml_cgraph * gf = nullptr;
    dt_inputs in{};
    ggml_tensor * logits = nullptr, * loss = nullptr;
    ~dt_graph() {
        if (ctx) ggml_free(ctx);
    }
};

struct dt_profile_entry {
    int64_t count = 0;
    double us = 0.0;
};
struct dt_profile {
    bool on = false;
    double started = 0.0, total_us = 0.0;
    std::map<std::string, dt_profile_entry> by_op, by_shape;
};

// A CPU GEMM's scale and operand precision (dt_precision); the trainer keeps one per scale, for the graph.
struct dt_gemm_params {
    float alpha;
    int32_t precision;
};

struct dt_trainer {
    std::string error;
    std::string arch;

    // Devices: the compute device (GPU or CPU) and the CPU, which the scheduler keeps as the fallback.
    ggml_backend_t backend = nullptr;     // where weights, parameters and the step run
    ggml_backend_t cpu = nullptr;         // == backend on a CPU-only run
    ggml_threadpool_t threadpool = nullptr; // the CPU backend's threads, kept across graphs (not made per graph)
    void (*threadpool_free)(ggml_threadpool_t) = nullptr;
    ggml_backend_dev_t dev = nullptr;
    std::string backend_name;              // ggml's name for the backend instance
    std::string backend_kind;              // CPU, CUDA, Vulkan, Metal
    std::string notes;                     // why a preferred device was not used
    ggml_backend_sched_t sched = nullptr;
    // Measures steps for the memory plan without touching `sched`: a measurement leaves a scheduler with
    // sizes but no buffers, and its next graph would be placed in buffers that do not exist.
    ggml_backend_sched_t sched_measure = nullptr;
    size_t graph_size = 0;

    int32_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx_train = 0, n_rot = 0;
    int32_t head_dim = 0, n_embd_q = 0, n_embd_kv = 0;   // attention.key_length; head_dim·H, head_dim·H_kv
    float rms_eps = 1e-5f, rope_base = 10000.0f;
    int rope_mode = 0;
    // What the architectures differ in (trainer_arch.cpp reads them from the GGUF, as llama.cpp does).
    bool fused_qkv = false, fused_gate_up = false;       // phi3
    int ffn_act = DT_ACT_SILU;                           // gemma3: GELU (tanh approximation)
    // GELU as ggml's CPU kernel computes it (an F16 table, as llama.cpp runs it); off (DOCTUNE_TRAINER_ABLATE=
    // gelu_table) it is computed in F32, smooth enough for finite differences to check its backward.
    bool gelu_table = true;
    float embd_scale = 1.0f;                             // gemma3: sqrt(E)
    float kq_scale = 1.0f;                               // attention logits' scale
    int32_t n_swa = 0;                                   // sliding window (0: none)
    // RoPE as llama.cpp applies it: frequency factors (llama 3's rope_freqs, phi3's short factors), YaRN.
    ggml_tensor * rope_factors = nullptr;
    float rope_ext_factor = 0.0f, rope_attn_factor = 1.0f, rope_beta_fast = 32.0f, rope_beta_slow = 1.0f;
    int32_t n_ctx_orig = 0;

    gguf_context * gguf = nullptr;
    ggml_context * ctx_w = nullptr;            // base weights, as stored
    ggml_backend_buffer_t buf_w = nullptr;
    ggml_context * ctx_wt = nullptr;           // transposed copies
    ggml_backend_buffer_t buf_wt = nullptr;
    ggml_tensor * tok_embd = nullptr, * out_norm = nullptr;
    dt_matrix output;
    std::vector<dt_layer> layers;

    int32_t rank = 0;
    float scale = 0.0f;                         // alpha / rank
    ggml_context * ctx_p = nullptr;             // LoRA parameters
    ggml_backend_buffer_t buf_p = nullptr;
    ggml_context * ctx_g = nullptr;             // gradient accumulators (cleared after each update)
    ggml_backend_buffer_t buf_g = nullptr;
    ggml_context * ctx_o = nullptr;             // AdamW moments
    ggml_backend_buffer_t buf_o = nullptr;
    std::vector<ggml_tensor *> params, grads, moments_m, moments_v; // in parameter order
    int64_t n_params = 0;
    int64_t step = 0;
    // Build the backward from the ops every backend has only (what Metal gets), wherever it runs: set by
    // DOCTUNE_PORTABLE_BACKWARD=1, so that the CPU and Vulkan tests cover that path too.
    bool portable_backward = false;
    // Matrix products in DocTune's CPU GEMM (CPU backend on x86 with AVX2/AVX-512; DOCTUNE_CPU_GEMM=0 turns
    // it off): no transposed copies of the frozen matrices are made then.
    bool cpu_matmul = false;
    // Precision of the products (dt_precision, never AUTO once open) and the types the device multiplies
    // reduced-precision operands in (ggml path: the activation operand is cast to it; F32 if unsupported).
    int32_t precision = DT_PRECISION_F32;
    std::string precision_note;
    std::vector<ggml_backend_buffer_t> probe_buffers;   // what measuring AUTO allocated (freed with the trainer)
    std::vector<ggml_context *> probe_contexts;
    dt_gemm_params gemm_one{ 1.0f, DT_PRECISION_F32 }, gemm_scaled{ 1.0f, DT_PRECISION_F32 };
    bool has_grads = false;
    // Activation checkpointing: the forward keeps each layer's input only and the backward recomputes the
    // layer (one layer's activations live at a time, for about a third more compute).
    bool checkpointing = false;

    // The last model graph run (its loss or logits are read after the run). Graphs are rebuilt for every
    // run, as llama.cpp does (the scheduler rewrites a graph it allocates, so one cannot be run twice); the
    // buffers they run in stay allocated: the scheduler is reserved once for the largest step.
    std::unique_ptr<dt_graph> graph;
    std::vector<uint8_t> graph_mem;             // metadata of the model graph being built or run
    size_t reserved_compute = 0;
    int last_splits = 0, last_fallbacks = 0, max_fallbacks = 0;
    dt_profile profile;
};

inline int fail(dt_trainer * t, const std::string & msg) {
    t->error = msg;
    return -1;
}

// trainer_backend.cpp
bool dt_open_device(dt_trainer * t, const char * const * dirs, int n_dirs, const char * device, int n_threads, bool ggml_matmul);
bool dt_make_scheduler(dt_trainer * t);
void dt_count_fallbacks(dt_trainer * t, ggml_cgraph * gf, bool model_graph);
void dt_describe_device(const dt_trainer * t, dt_device_info * out);
// model_graph: the forward/backward (its splits are reported); fallbacks are counted for every graph.
bool dt_compute(dt_trainer * t, ggml_cgraph * gf, const std::function<void()> & set_inputs, bool model_graph);
int dt_list_devices_impl(const char * const * dirs, int n_dirs, dt_device_info * out, int max, char * error, size_t error_len);

// trainer_profile.cpp: per-op timings of every graph run while on (DOCTUNE_PROFILE=1 or dt_trainer_set_profile)
void dt_profile_attach(dt_trainer * t);
void dt_profile_set(dt_trainer * t, bool on);
std::string dt_profile_report(const dt_profile & p, int top);

// trainer_cpu_matmul.cpp: out[i, j, ...] = alpha·Σ_k a[k, i, ...]·b[k, j, ...] (ggml_mul_mat's contraction) for
// any F32 views of a and b, or a stored matrix (or its ggml_transpose) of any type as a; _acc adds into acc.
bool dt_cpu_matmul_available();
const char * dt_cpu_matmul_isa();
int dt_cpu_vector_lanes();   // 16 (AVX-512), 8 (AVX2) or 0: the CPU kernels' vector width
// trainer_cpu_swiglu.cpp: da = dm ⊙ u ⊙ silu'(a) in one pass (the SwiGLU backward), contiguous F32
ggml_tensor * dt_cpu_swiglu_back(ggml_context * ctx, ggml_tensor * dm, ggml_tensor * a, ggml_tensor * u);
ggml_tensor * dt_cpu_mul_mat(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b, const dt_gemm_params * params);
ggml_tensor * dt_cpu_mul_mat_acc(ggml_context * ctx, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, const dt_gemm_params * params);
double dt_cpu_time_matmul(int64_t M, int64_t N, int64_t K, int precision, int repeats);
double dt_cpu_peak_gflops(double seconds, bool bf16);   // FMA throughput, or BF16 pairs' where the CPU has them

// trainer_ops.cpp: the products the forward and backward are written in, on the kernel this backend does best.
struct dt_ops {
    ggml_context * ctx;
    ggml_cgraph * gf;
    const dt_trainer * t;
    bool out_prod_ok;   // ggml path: the device has OUT_PROD for contiguous F32 (cheaper than two transposes)
};
// `scaled`: times the LoRA scale alpha/r. Products run at the trainer's precision.
ggml_tensor * dt_mm(const dt_ops & o, ggml_tensor * a, ggml_tensor * b, bool scaled = false);               // (s·)aᵀb
ggml_tensor * dt_mm_acc(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, bool scaled = false); // acc + (s·)aᵀb
ggml_tensor * dt_mm_weight_t(const dt_ops & o, const dt_matrix & w, ggml_tensor * dy);                       // Wᵀ·dy
void dt_accumulate_outer(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, bool scaled); // acc += (s·)a·bᵀ
// The precision in effect: AUTO measured on the device (trainer_precision.cpp).
bool dt_choose_precision(dt_trainer * t, int32_t requested);

// trainer_arch.cpp: the architecture's hyperparameters and features from the GGUF metadata (before any
// tensor is read), then each layer's architecture-specific tensors once the weights are known.
bool dt_read_hparams(dt_trainer * t);
bool dt_bind_arch_tensors(dt_trainer * t);
// Architecture features switched off by DOCTUNE_TRAINER_ABLATE (a comma list; tests only): each must then
// make the trainer disagree with llama.cpp, which shows the tests would catch its absence.
bool dt_ablated(const char * feature);

// trainer_model.cpp
bool dt_load_model(dt_trainer * t, const char * path, bool compact_transposed);
bool dt_init_lora(dt_trainer * t, int32_t rank, float alpha, uint32_t targets, uint64_t seed);

// Forward activations the backward reads, per layer (N = T*B tokens, E = n_embd, F = n_ff).
struct dt_saved {
    ggml_tensor * x_in = nullptr, * r1 = nullptr, * h1 = nullptr;      // [E, N]: input, rms_norm(x), ·attn_norm
    ggml_tensor * ax[DT_N_TARGETS] = {};                              // [r, N]: A·x of each adapted matrix
    ggml_tensor * qn = nullptr, * kn = nullptr;                       // [hd, H|H_kv, T, B] q, k before their norm
    ggml_tensor * rq = nullptr, * rk = nullptr;                       //   and normalised (q/k-norm models)
    ggml_tensor * Q = nullptr, * K = nullptr, * V = nullptr;          // [hd, T, H|H_kv, B] after RoPE
    ggml_tensor * P = nullptr;                                        // [T_k, T_q, H, B] attention weights
    ggml_tensor * o = nullptr;                                        // [hd·H, N] attention output before W_o
    ggml_tensor * attn_raw = nullptr, * r_attn_post = nullptr;        // [E, N] W_o·o and its norm (post-norm models)
    ggml_tensor * ffn_raw = nullptr, * r_ffn_post = nullptr;          // [E, N] W_down·m and its norm
    ggml_tensor * x_mid = nullptr, * r2 = nullptr, * h2 = nullptr;    // [E, N]
    ggml_tensor * a = nullptr, * u = nullptr, * g = nullptr, * m = nullptr; // [F, N]: gate, up, silu(gate), g*u
};
struct dt_activations {
    std::vector<dt_saved> layers;
    ggml_tensor * x_last = nullptr, * r_final = nullptr;              // [E, N]
};

// trainer_graph.cpp: checks the inputs, reuses or builds the graph for this shape, sets inputs, computes.
struct dt_batch {
    const int32_t * tokens;   // [B*T], sequence-major
    const int32_t * labels;   // [B*T], -1 = no loss; null for logits
    int T, B;
};
dt_graph * dt_run_graph(dt_trainer * t, const dt_batch & batch, bool grad);
std::unique_ptr<dt_graph> dt_build_graph(dt_trainer * t, const dt_graph_key & key);
int dt_label_bucket(int n_labelled, int n_positions);

// trainer_forward.cpp: the decoder, W·x + (alpha/r)·B·(A·x) in every adapted matrix. Returns the normalised
// final hidden state [E, N]; fills `act` when the backward will need it.
ggml_tensor * dt_forward(ggml_context * ctx, const dt_trainer * t, const dt_inputs & in, int T, int B, dt_activations * act);

// GELU (tanh approximation) of a, as t->gelu_table says.
ggml_tensor * dt_gelu(ggml_context * ctx, const dt_trainer * t, ggml_tensor * a);

// RoPE of layer L at positions `pos` (-pos gives its transpose, for the backward).
ggml_tensor * dt_rope(const dt_ops & o, const dt_layer & L, ggml_tensor * x, ggml_tensor * pos);

// One layer of dt_forward (the backward calls it again from the saved input when checkpointing).
ggml_tensor * dt_layer_forward(const dt_ops & o, const dt_inputs & in, int l, ggml_tensor * x, int T, int B, dt_saved & s);

// trainer_backward.cpp: from the gradient of the normalised final hidden state, the gradient of every LoRA
// parameter, added to its accumulator (nodes expanded into gf).
void dt_backward(ggml_context * ctx, ggml_cgraph * gf, const dt_trainer * t, const dt_inputs & in, int T, int B,
                 const dt_activations & act, ggml_tensor * d_hidden);

// trainer_optim.cpp
int dt_optimizer_step(dt_trainer * t, float lr, float beta1, float beta2, float eps, float wd, float clip, int32_t accum, float * out_norm);
bool dt_init_optimizer(dt_trainer * t);
