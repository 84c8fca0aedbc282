// 7. Precision of the step's products. F16/BF16 operands with F32 accumulation where the device multiplies
// them (tensor cores, AVX512-BF16), everything else F32: LoRA parameters, gradient accumulators, AdamW
// state, norms, softmax and the loss. AUTO is measured, not assumed: one product of the model's FFN shape,
// timed in F32 and in each reduced type the device has, on the device itself; the fastest wins (BF16 over
// F16 when they are within 10%: the same speed with F32's range).
#include "trainer_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

const char * name_of(int32_t p) {
    return p == DT_PRECISION_BF16 ? "bf16" : p == DT_PRECISION_F16 ? "f16" : "f32";
}

// Seconds of the fastest of a few runs of x(K×M)ᵀ·y(K×N) on the device, with x cast to `type` first, or -1
// when the device cannot run it. The probe's tensors stay allocated until the trainer is freed: freeing a
// buffer before the scheduler is built crashed lavapipe's Vulkan driver.
double time_device_product(dt_trainer * t, ggml_type type, int64_t M, int64_t N, int64_t K) {
    ggml_init_params ip = { 16 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true };
    ggml_context * ctx = ggml_init(ip);
    ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, M);
    ggml_tensor * y = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    ggml_tensor * xc = type == GGML_TYPE_F32 ? x : ggml_cast(ctx, x, type);
    ggml_tensor * z = ggml_mul_mat(ctx, xc, y);
    if ((xc != x && !ggml_backend_supports_op(t->backend, xc)) || !ggml_backend_supports_op(t->backend, z)) {
        ggml_free(ctx);
        return -1.0;
    }
    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, z);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, t->backend);
    if (!buf) {
        ggml_free(ctx);
        return -1.0;
    }
    t->probe_buffers.push_back(buf);
    t->probe_contexts.push_back(ctx);
    std::vector<float> ones((size_t) std::max(M, N) * K, 0.01f);
    ggml_backend_tensor_set(x, ones.data(), 0, ggml_nbytes(x));
    ggml_backend_tensor_set(y, ones.data(), 0, ggml_nbytes(y));
    double best = 1e30;
    for (int r = 0; r < 4; r++) {   // the first run compiles shaders / warms caches
        const auto t0 = std::chrono::steady_clock::now();
        if (ggml_backend_graph_compute(t->backend, gf) != GGML_STATUS_SUCCESS) return -1.0;
        ggml_backend_synchronize(t->backend);
        if (r > 0) best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

} // namespace

bool dt_choose_precision(dt_trainer * t, int32_t requested) {
    if (requested < DT_PRECISION_AUTO || requested > DT_PRECISION_BF16) return fail(t, "unknown precision (auto, f32, f16 or bf16)"), false;
    // The FFN product of a training step: the model's widest matrix against a step's tokens.
    const int64_t M = std::min<int64_t>(t->n_ff, 2048), K = std::min<int64_t>(t->n_embd, 1024), N = 512;
    char note[160];
    if (t->cpu_matmul) {
        const bool dot = dt_cpu::has_bf16_dot();
        if (requested == DT_PRECISION_AUTO) {
            if (!dot) {
                t->precision = DT_PRECISION_F32;
                t->precision_note = "auto: f32 (this CPU has no BF16 arithmetic; F16/BF16 operands would only be rounded)";
            } else {
                // Taking turns, the fastest of each: a busy neighbour only ever slows a run down.
                double f32 = 1e30, bf16 = 1e30;
                for (int r = 0; r < 4; r++) {
                    f32 = std::min(f32, dt_cpu_time_matmul(M, N, K, DT_PRECISION_F32, 1));
                    bf16 = std::min(bf16, dt_cpu_time_matmul(M, N, K, DT_PRECISION_BF16, 1));
                }
                t->precision = bf16 < 0.9 * f32 ? DT_PRECISION_BF16 : DT_PRECISION_F32;
                snprintf(note, sizeof(note), "auto: %s (BF16 products %.2fx the speed of F32 on this CPU)", name_of(t->precision), f32 / bf16);
                t->precision_note = note;
            }
        } else {
            t->precision = requested;
            if (requested == DT_PRECISION_F16 || (requested == DT_PRECISION_BF16 && !dot)) {
                t->precision_note = std::string(name_of(requested)) + ": operands rounded to " + name_of(requested) + ", products in F32 (no " +
                                    name_of(requested) + " arithmetic on this CPU)";
            }
        }
    } else {
        const double f32 = time_device_product(t, GGML_TYPE_F32, M, N, K);
        const double f16 = requested == DT_PRECISION_AUTO || requested == DT_PRECISION_F16 ? time_device_product(t, GGML_TYPE_F16, M, N, K) : -1.0;
        const double bf16 = requested == DT_PRECISION_AUTO || requested == DT_PRECISION_BF16 ? time_device_product(t, GGML_TYPE_BF16, M, N, K) : -1.0;
        if (requested == DT_PRECISION_AUTO) {
            int32_t best = DT_PRECISION_F32;
            double tb = f32 > 0 ? f32 : 1e30;
            if (f16 > 0 && f16 < 0.9 * tb) { best = DT_PRECISION_F16; tb = f16; }
            if (bf16 > 0 && bf16 < (best == DT_PRECISION_F16 ? 1.1 * tb : 0.9 * tb)) { best = DT_PRECISION_BF16; tb = bf16; }
            t->precision = best;
            char a[24] = "n/a", b[24] = "n/a";
            if (f16 > 0) snprintf(a, sizeof(a), "%.2f ms", f16 * 1e3);
            if (bf16 > 0) snprintf(b, sizeof(b), "%.2f ms", bf16 * 1e3);
            snprintf(note, sizeof(note), "auto: %s (products on %s: f32 %.2f ms, f16 %s, bf16 %s)", name_of(best), t->backend_name.c_str(), f32 * 1e3, a, b);
            t->precision_note = note;
        } else if (requested != DT_PRECISION_F32 && (requested == DT_PRECISION_F16 ? f16 : bf16) < 0) {
            t->precision = DT_PRECISION_F32;
            t->precision_note = std::string(name_of(requested)) + " products are not available on " + t->backend_name + "; using f32";
        } else {
            t->precision = requested;
        }
    }
    t->gemm_one = { 1.0f, t->precision };
    t->gemm_scaled = { t->scale, t->precision };
    return true;
}
