// 6. CPU matrix products. ggml's CPU mul_mat multiplies rows by rows (llamafile's tinyBLAS for F32,
// ~30% of an AVX-512 core's FP32 peak) and needs both operands contiguous along K, so the backward would
// need transposed copies of every frozen matrix and copies of transposed activations. This is a packed GEMM
// in the BLIS layout instead (trainer_cpu_pack.cpp, trainer_cpu_kernels.cpp): packing reads any strides and
// dequantizes any ggml type, so one kernel computes W·x and Wᵀ·dy straight from the stored (quantized) W,
// the LoRA products and the attention products, in F32 or with operands in F16/BF16 (accumulated in F32).
// It runs as a ggml custom op in the CPU backend's thread pool; GPU backends keep ggml's own mul_mat.
#include "trainer_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

using namespace dt_cpu;

namespace {

void * aligned_alloc64(size_t bytes) {
#if defined(_MSC_VER)
    return _aligned_malloc(bytes, 64);
#else
    void * p = nullptr;
    return posix_memalign(&p, 64, bytes) == 0 ? p : nullptr;
#endif
}

void aligned_free(void * p) {
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    free(p);
#endif
}

// Per-thread packing buffers (the CPU backend keeps its threads, so these are made once).
struct buffers {
    float * a = (float *) aligned_alloc64(MC * KC * sizeof(float));
    float * b = (float *) aligned_alloc64(KC * (NC + 2 * MAX_NR) * sizeof(float));
    uint32_t * a2 = (uint32_t *) aligned_alloc64(MC * (KC / 2 + 1) * sizeof(uint32_t));
    uint32_t * b2 = (uint32_t *) aligned_alloc64((KC / 2 + 1) * (NC + 2 * MAX_NR) * sizeof(uint32_t));
    std::vector<float> tmp;
    ~buffers() { for (void * p : { (void *) a, (void *) b, (void *) a2, (void *) b2 }) aligned_free(p); }
};

// C[m0..m1, n0..n1) (+)= alpha · A·B over the whole K, for one batch slice; C is column-major (m contiguous).
void gemm_block(const operand_a & A, const operand_b & B, float * C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                float alpha, bool acc, prec p, buffers & buf) {
    const isa which = vector_isa();
    const tile tl = tile_of(which, A.M);
    const kernel_fn kernel = kernel_for(which, tl);
    const kernel_bf16_fn kernel2 = p == prec::bf16 ? kernel_bf16_for(tl) : nullptr;
    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = std::min(NC, n1 - jc);
        const int64_t nq = (nc + tl.nr - 1) / tl.nr;
        for (int64_t pc = 0; pc < A.K; pc += KC) {
            const int64_t kc = std::min(KC, A.K - pc), kp = (kc + 1) / 2;
            const bool add = acc || pc > 0;
            pack_b(B, pc, kc, jc, nc, tl.nr, buf.b);
            if (kernel2) for (int64_t q = 0; q < nq; q++) to_bf16_pairs(buf.b + q * kc * tl.nr, kc, tl.nr, buf.b2 + q * kp * tl.nr);
            else round_to(p, buf.b, nq * kc * tl.nr);
            for (int64_t ic = m0; ic < m1; ic += MC) {
                const int64_t mc = std::min(MC, m1 - ic);
                const int64_t np = (mc + tl.mr - 1) / tl.mr;
                pack_a(A, ic, mc, pc, kc, tl.mr, buf.a, buf.tmp);
                if (kernel2) for (int64_t i = 0; i < np; i++) to_bf16_pairs(buf.a + i * kc * tl.mr, kc, tl.mr, buf.a2 + i * kp * tl.mr);
                else round_to(p, buf.a, np * kc * tl.mr);
                for (int64_t q = 0; q < nq; q++) {
                    const int nv = (int) std::min<int64_t>(tl.nr, nc - q * tl.nr);
                    for (int64_t i = 0; i < np; i++) {
                        const int mv = (int) std::min<int64_t>(tl.mr, mc - i * tl.mr);
                        float * c = C + (ic + i * tl.mr) + (jc + q * tl.nr) * ldc;
                        if (kernel2) kernel2(kp, buf.a2 + i * kp * tl.mr, buf.b2 + q * kp * tl.nr, c, ldc, alpha, add, mv, nv);
                        else kernel(kc, buf.a + i * kc * tl.mr, buf.b + q * kc * tl.nr, c, ldc, alpha, add, mv, nv);
                    }
                }
            }
        }
    }
}

// dst[i, j, b2, b3] (+)= alpha · Σ_k a[k, i, b2/r2, b3/r3] · b[k, j, b2, b3], as ggml_mul_mat, for any F32
// views of a and b, or a stored matrix (or its transpose) in any type for a. In place (dt_cpu_mul_mat_acc)
// the sources are { acc, a, b }.
void run_matmul(ggml_tensor * dst, int ith, int nth, void * userdata) {
    const dt_gemm_params & gp = *(const dt_gemm_params *) userdata;
    const prec p = gp.precision == DT_PRECISION_BF16 ? prec::bf16 : gp.precision == DT_PRECISION_F16 ? prec::f16 : prec::f32;
    const bool acc = dst->src[2] != nullptr;
    const ggml_tensor * a = dst->src[acc ? 1 : 0];
    const ggml_tensor * b = dst->src[acc ? 2 : 1];
    const int64_t M = dst->ne[0], N = dst->ne[1], K = b->ne[0];
    const int64_t n_batch = dst->ne[2] * dst->ne[3];
    const int64_t r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];

    operand_a A{};
    A.M = M; A.K = K; A.type = a->type;
    if (a->type == GGML_TYPE_F32) {
        A.mode = operand_a::f32; A.sk = a->nb[0]; A.sm = a->nb[1];
    } else if (a->op != GGML_OP_TRANSPOSE) { // the stored matrix: blocks along k
        A.mode = operand_a::rows_k; A.row = a->nb[1];
    } else {                                 // its transpose: blocks along m (strides alone can tie: one block a row)
        A.mode = operand_a::rows_m; A.row = a->nb[0];
    }
    if (A.mode != operand_a::f32) A.to_float = ggml_get_type_traits(a->type)->to_float;

    // Work items: batch slices × column chunks (or row chunks when C is tall and narrow), dealt round-robin.
    const tile tl = tile_of(vector_isa(), M);
    const int64_t align_m = A.mode == operand_a::rows_m ? std::max<int64_t>(MC, ggml_blck_size(a->type)) : tl.mr;
    const bool split_m = n_batch < nth && M / align_m >= 2 * (N / tl.nr);
    const int64_t span = split_m ? M : N, unit = split_m ? align_m : tl.nr;
    int64_t chunks = n_batch >= nth ? 1 : (nth + n_batch - 1) / n_batch;
    chunks = std::max<int64_t>(1, std::min(chunks, (span + unit - 1) / unit));
    const int64_t per = ((span + chunks - 1) / chunks + unit - 1) / unit * unit;

    thread_local buffers buf;
    for (int64_t item = ith; item < n_batch * chunks; item += nth) {
        const int64_t bi = item / chunks, ci = item % chunks;
        const int64_t i2 = bi % dst->ne[2], i3 = bi / dst->ne[2];
        const int64_t lo = ci * per, hi = std::min(span, lo + per);
        if (lo >= hi) continue;
        A.data = (const char *) a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3];
        operand_b B{ (const char *) b->data + i2 * b->nb[2] + i3 * b->nb[3], b->nb[0], b->nb[1] };
        float * C = (float *) ((char *) dst->data + i2 * dst->nb[2] + i3 * dst->nb[3]);
        if (split_m) gemm_block(A, B, C, dst->nb[1] / sizeof(float), lo, hi, 0, N, gp.alpha, acc, p, buf);
        else gemm_block(A, B, C, dst->nb[1] / sizeof(float), 0, M, lo, hi, gp.alpha, acc, p, buf);
    }
}

void check_operands(const ggml_tensor * a, const ggml_tensor * b) {
    GGML_ASSERT(b->type == GGML_TYPE_F32 && a->ne[0] == b->ne[0]);
    GGML_ASSERT(b->ne[2] % a->ne[2] == 0 && b->ne[3] % a->ne[3] == 0);
    if (a->type != GGML_TYPE_F32) {
        // a stored matrix or its ggml_transpose, rows of whole blocks
        const ggml_tensor * w = a->op == GGML_OP_TRANSPOSE ? a->src[0] : a;
        GGML_ASSERT(w->op == GGML_OP_NONE && ggml_is_contiguous(w) && a->ne[2] == 1 && a->ne[3] == 1 && ggml_get_type_traits(a->type)->to_float);
    }
}

} // namespace

// params outlive the graph (the trainer's own).
ggml_tensor * dt_cpu_mul_mat(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b, const dt_gemm_params * params) {
    check_operands(a, b);
    ggml_tensor * args[2] = { a, b };
    ggml_tensor * y = ggml_custom_4d(ctx, GGML_TYPE_F32, a->ne[1], b->ne[1], b->ne[2], b->ne[3], args, 2, run_matmul, GGML_N_TASKS_MAX, (void *) params);
    return ggml_set_name(y, "GEMM");
}

ggml_tensor * dt_cpu_mul_mat_acc(ggml_context * ctx, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, const dt_gemm_params * params) {
    check_operands(a, b);
    GGML_ASSERT(acc->type == GGML_TYPE_F32 && ggml_is_contiguous(acc));
    GGML_ASSERT(acc->ne[0] == a->ne[1] && acc->ne[1] == b->ne[1] && acc->ne[2] == b->ne[2] && acc->ne[3] == b->ne[3]);
    ggml_tensor * args[2] = { a, b };
    return ggml_set_name(ggml_custom_inplace(ctx, acc, args, 2, run_matmul, GGML_N_TASKS_MAX, (void *) params), "GEMM+=");
}

// Seconds of the fastest of `repeats` runs of one product on this thread (the trainer's auto precision).
double dt_cpu_time_matmul(int64_t M, int64_t N, int64_t K, int precision, int repeats) {
    std::vector<float> a((size_t) M * K, 0.5f), b((size_t) K * N, 0.25f), c((size_t) M * N);
    ggml_init_params ip = { 8 * ggml_tensor_overhead(), nullptr, true };
    ggml_context * ctx = ggml_init(ip);
    ggml_tensor * ta = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, M);
    ggml_tensor * tb = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    ta->data = a.data();
    tb->data = b.data();
    const dt_gemm_params params = { 1.0f, precision };
    ggml_tensor * dst = dt_cpu_mul_mat(ctx, ta, tb, &params);
    dst->data = c.data();
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        const auto t0 = std::chrono::steady_clock::now();
        run_matmul(dst, 0, 1, (void *) &params);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    ggml_free(ctx);
    return best;
}

// ---------------------------------------------------------------- C API: the product on its own, for tests and benchmarks

extern "C" int dt_cpu_matmul(const dt_matmul_args * p, float * out, double * seconds, char * error, size_t error_len) {
    auto err = [&](const char * m) { if (error && error_len) snprintf(error, error_len, "%s", m); return -1; };
    if (!p || !p->a || !p->b || !out) return err("missing operand");
    if (!dt_cpu_matmul_available()) return err("no CPU GEMM kernel for this processor");
    if (p->a_type < 0 || p->a_type >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) p->a_type)->blck_size == 0) return err("unknown ggml type");
    if (p->precision < DT_PRECISION_F32 || p->precision > DT_PRECISION_BF16) return err("precision must be f32, f16 or bf16");
    const ggml_type type = (ggml_type) p->a_type;
    if (p->a_ne[0] % ggml_blck_size(type) != 0) return err("rows of a do not fill whole blocks");
    if (p->a_transposed && (p->a_ne[2] != 1 || p->a_ne[3] != 1)) return err("a transposed must be 2-D");
    const int64_t aK = p->a_transposed ? p->a_ne[1] : p->a_ne[0], aM = p->a_transposed ? p->a_ne[0] : p->a_ne[1];
    const int64_t bK = p->b_transposed ? p->b_ne[1] : p->b_ne[0], bN = p->b_transposed ? p->b_ne[0] : p->b_ne[1];
    if (aK != bK || p->b_ne[2] % p->a_ne[2] != 0 || p->b_ne[3] % p->a_ne[3] != 0) return err("shapes do not match");
    if (type != GGML_TYPE_F32 && (p->a_ne[2] != 1 || p->a_ne[3] != 1)) return err("a quantized a must be 2-D");
    const size_t a_bytes = ggml_row_size(type, p->a_ne[0]) * p->a_ne[1] * p->a_ne[2] * p->a_ne[3];
    const size_t b_n = (size_t) (p->b_ne[0] * p->b_ne[1] * p->b_ne[2] * p->b_ne[3]);
    const size_t out_n = (size_t) (aM * bN * p->b_ne[2] * p->b_ne[3]);
    ggml_init_params ip = { a_bytes + (b_n + out_n) * sizeof(float) + 16 * ggml_tensor_overhead() + 4096, nullptr, false };
    ggml_context * ctx = ggml_init(ip);
    if (!ctx) return err("out of memory");
    ggml_tensor * a = ggml_new_tensor_4d(ctx, type, p->a_ne[0], p->a_ne[1], p->a_ne[2], p->a_ne[3]);
    ggml_tensor * b = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, p->b_ne[0], p->b_ne[1], p->b_ne[2], p->b_ne[3]);
    memcpy(a->data, p->a, a_bytes);
    memcpy(b->data, p->b, b_n * sizeof(float));
    ggml_tensor * av = p->a_transposed ? ggml_transpose(ctx, a) : a;
    ggml_tensor * bv = p->b_transposed ? ggml_transpose(ctx, b) : b;
    const dt_gemm_params params = { p->alpha, p->precision };
    ggml_tensor * acc = p->accumulate ? ggml_new_tensor_4d(ctx, GGML_TYPE_F32, aM, bN, p->b_ne[2], p->b_ne[3]) : nullptr;
    ggml_tensor * dst = acc ? dt_cpu_mul_mat_acc(ctx, acc, av, bv, &params) : dt_cpu_mul_mat(ctx, av, bv, &params);
    const int nth = std::max(1, p->n_threads);
    double best = 1e30;
    for (int r = 0; r < std::max(1, p->repeats); r++) {
        if (acc) memcpy(acc->data, out, out_n * sizeof(float));
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int i = 1; i < nth; i++) pool.emplace_back([=, &params] { run_matmul(dst, i, nth, (void *) &params); });
        run_matmul(dst, 0, nth, (void *) &params);
        for (auto & th : pool) th.join();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    memcpy(out, dst->data, out_n * sizeof(float));
    if (seconds) *seconds = best;
    ggml_free(ctx);
    return 0;
}

extern "C" const char * dt_cpu_matmul_kernel(void) { return dt_cpu_matmul_isa(); }

extern "C" double dt_cpu_peak_flops(double seconds, int32_t precision) { return dt_cpu_peak_gflops(seconds, precision == DT_PRECISION_BF16); }
