// DocTune's LoRA trainer: a plain C API over an opaque handle.
//
// Every call returns 0 on success and a negative code on failure, with the reason in
// dt_trainer_last_error(). Nothing here throws; the N-API layer turns failures into JS errors.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dt_trainer dt_trainer;

// LoRA targets, one bit each, in the order of DT_TARGET_NAMES.
enum dt_target {
    DT_TARGET_ATTN_Q      = 1 << 0,
    DT_TARGET_ATTN_K      = 1 << 1,
    DT_TARGET_ATTN_V      = 1 << 2,
    DT_TARGET_ATTN_OUTPUT = 1 << 3,
    DT_TARGET_FFN_GATE    = 1 << 4,
    DT_TARGET_FFN_UP      = 1 << 5,
    DT_TARGET_FFN_DOWN    = 1 << 6,
};
#define DT_N_TARGETS 7

// Precision of the step's matrix products: their operands in F16 or BF16, products accumulated in F32; LoRA
// parameters, gradient accumulators and AdamW state stay F32. AUTO measures what is fastest on the device.
enum dt_precision {
    DT_PRECISION_AUTO = 0,
    DT_PRECISION_F32  = 1,
    DT_PRECISION_F16  = 2,
    DT_PRECISION_BF16 = 3,
};

// A compute device ggml can use, as found in the backend libraries.
typedef struct dt_device_info {
    char     backend[16];      // "CPU", "CUDA", "Vulkan", "Metal"
    char     name[64];         // ggml's device name, e.g. "CUDA0", "Vulkan0"
    char     description[128]; // e.g. "NVIDIA H100 80GB HBM3"
    uint64_t memory_free, memory_total;
} dt_device_info;

// Devices in the backend folders (CPU always last). Returns how many were written to out (at most max), or
// -1 with the reason in error. A GPU library whose runtime is missing is skipped; its reason goes to notes.
int dt_list_devices(const char * const * backend_dirs, int32_t n_dirs, dt_device_info * out, int32_t max,
                    char * notes, size_t notes_len);

typedef struct dt_trainer_params {
    const char * model_path;   // the GGUF base model, in any of its tensor types
    const char * const * backend_dirs; // folders with ggml's backend libraries (libggml-cpu-*.so, -vulkan, -cuda)
    int32_t      n_backend_dirs;
    const char * device;       // "auto" (CUDA, then Vulkan or Metal, then CPU), "cpu", "cuda", "vulkan", "metal"
    int32_t      rank;
    float        alpha;        // LoRA scale is alpha / rank
    uint32_t     targets;      // dt_target bits
    uint64_t     seed;         // initialisation of A (Kaiming-uniform); B starts at zero
    int32_t      n_threads;
    int32_t      compact_transposed; // keep the backward's transposed weights in the base's quantized type
                                     // (least memory) instead of Q8_0 (most accurate input gradients)
    int32_t      ggml_matmul;        // on the CPU, use ggml's mul_mat and transposed copies instead of DocTune's
                                     // GEMM (for comparisons; the GEMM is used where the processor has it)
    int32_t      precision;          // dt_precision
} dt_trainer_params;

typedef struct dt_trainer_info {
    char     arch[32];
    int32_t  n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    int64_t  n_params;         // trainable LoRA parameters
    int32_t  n_tensors;        // trainable tensors (A and B of every adapted matrix)
    char     backend[64];      // ggml backend name, e.g. "CPU", "Vulkan0", "CUDA0"
    dt_device_info device;     // the device the step runs on
    char     notes[512];       // why a preferred device was not used, if any
    int32_t  n_splits;         // scheduler splits of the last graph run (1 = all on one device)
    int32_t  n_fallbacks;      // nodes of that graph the device could not run (computed on the CPU)
    int32_t  cpu_matmul;       // matrix products in DocTune's CPU GEMM (no transposed copies)
    int32_t  precision;        // dt_precision in effect (never AUTO)
    int32_t  checkpointing;    // activation checkpointing is on
    char     precision_note[160]; // how AUTO chose, or why a requested precision fell back
} dt_trainer_info;

// Memory on the compute device, in bytes: what is allocated, and what a (batch, seq) step would need.
typedef struct dt_memory_plan {
    uint64_t weights;          // base weights as stored
    uint64_t transposed;       // transposed copies of the frozen matrices (input gradients)
    uint64_t lora;             // LoRA parameters
    uint64_t optimizer;        // gradient accumulators and AdamW moments
    uint64_t compute;          // activations and temporaries of the training step
    uint64_t device_free, device_total;
} dt_memory_plan;

// What this build supports, as comma-separated lists (the TypeScript side checks its own lists against them):
// the model architectures it trains, and the device choices dt_trainer_params.device takes.
const char * dt_supported_architectures(void);
const char * dt_device_choices(void);
// The ggml type of the transposed copy of a frozen matrix stored as `type` with rows of n_out values (compact:
// keep the stored type where it can be re-encoded); the memory plan in TypeScript checks its rule against it.
int dt_transposed_type(int type, int64_t n_out, int compact);

dt_trainer * dt_trainer_init(const dt_trainer_params * params, char * error, size_t error_len);
void         dt_trainer_free(dt_trainer * trainer);
const char * dt_trainer_last_error(const dt_trainer * trainer);
int          dt_trainer_get_info(const dt_trainer * trainer, dt_trainer_info * info);

// Name and shape of trainable tensor i, e.g. "blk.0.attn_q.weight.lora_a" with ne = {n_in, rank}.
int dt_trainer_param_desc(const dt_trainer * trainer, int32_t i, char * name, size_t name_len, int64_t ne[2]);

// All trainable values, flattened in tensor order (n_params floats).
int dt_trainer_get_params(dt_trainer * trainer, float * out);
int dt_trainer_set_params(dt_trainer * trainer, const float * values);

// Mean cross-entropy over the positions whose label is >= 0 (labels[t] is the token expected after
// tokens[0..t]). With compute_grad, the gradients are kept for dt_trainer_get_grads / dt_trainer_adamw_step.
// A batch is n_seq sequences of n_tokens each, sequence-major (pad shorter ones with label -1); the loss is
// the mean over all labelled positions of the batch.
int dt_trainer_loss(dt_trainer * trainer, const int32_t * tokens, const int32_t * labels, int32_t n_tokens,
                    int32_t n_seq, int32_t compute_grad, float * out_loss);

// Measures the training step for n_seq sequences of n_tokens (nothing is allocated); with reserve, allocates
// it, so that every smaller step runs in the same buffers.
int dt_trainer_plan(dt_trainer * trainer, int32_t n_tokens, int32_t n_seq, int32_t reserve, dt_memory_plan * out);
int dt_trainer_get_grads(dt_trainer * trainer, float * out);

// Logits for every position: out has n_tokens * n_vocab floats, position-major.
int dt_trainer_logits(dt_trainer * trainer, const int32_t * tokens, int32_t n_tokens, float * out);

// One AdamW update from the accumulated gradients (divided by accum_steps), with global-norm clipping
// (clip <= 0 turns it off); the gradients are zeroed afterwards. out_grad_norm gets the norm before clipping.
int dt_trainer_adamw_step(dt_trainer * trainer, float lr, float beta1, float beta2, float eps, float weight_decay,
                          float clip, int32_t accum_steps, float * out_grad_norm);

// Activation checkpointing: with on, the forward keeps only each layer's input and the backward recomputes
// the layer (the step's activations shrink to about one layer's, for about a third more compute). Gradients
// are the same. Takes effect from the next graph; plan again after changing it.
int dt_trainer_set_checkpointing(dt_trainer * trainer, int32_t on);

// Per-op profile: while on, every node of every graph is computed and timed on its own (slower; for finding
// which ops a step spends its time in). dt_trainer_profile writes the table of the `top` costliest ops, by op
// and by op with operand types and shapes, and returns its full length; reset clears the totals.
int dt_trainer_set_profile(dt_trainer * trainer, int32_t on);
int dt_trainer_profile(dt_trainer * trainer, char * out, size_t out_len, int32_t top, int32_t reset);

// Optimizer state for checkpoints: m and v (n_params floats each) and the step counter.
int dt_trainer_get_optimizer(dt_trainer * trainer, float * m, float * v, int64_t * step);
int dt_trainer_set_optimizer(dt_trainer * trainer, const float * m, const float * v, int64_t step);

// ---------------------------------------------------------------- the CPU matrix product the trainer uses

// out[i, j, k, l] (+)= alpha · Σ_p A[p, i, k/r2, l/r3] · B[p, j, k, l] in ggml's ne order (dim 0 contiguous), where
// A is `a` (any ggml type, ne = a_ne) or, with a_transposed, its transpose (a must then be 2-D), and B is `b`
// (F32) or its transpose. With accumulate, out holds the values to add to. Runs n_threads threads `repeats`
// times; seconds gets the fastest run. Returns 0, or -1 with the reason in error.
typedef struct dt_matmul_args {
    const void * a; int32_t a_type; int64_t a_ne[4]; int32_t a_transposed;
    const float * b; int64_t b_ne[4]; int32_t b_transposed;
    float alpha; int32_t accumulate; int32_t n_threads; int32_t repeats;
    int32_t precision;   // dt_precision of the operands (F32, F16 or BF16)
} dt_matmul_args;
int dt_cpu_matmul(const dt_matmul_args * args, float * out, double * seconds, char * error, size_t error_len);
// Which kernel the trainer's CPU matrix products use here: "AVX-512", "AVX2" or "none" (ggml's mul_mat).
const char * dt_cpu_matmul_kernel(void);
// This core's peak in GFLOP/s for products at `precision` (F32: FMA throughput of the widest vector unit;
// BF16: AVX512-BF16 dot products where the CPU has them, else the F32 figure), best of runs over `seconds`.
double dt_cpu_peak_flops(double seconds, int32_t precision);

#ifdef __cplusplus
}
#endif
