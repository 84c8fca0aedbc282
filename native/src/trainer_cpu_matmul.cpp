// 6. CPU matrix products. ggml's CPU mul_mat multiplies rows by rows (llamafile's tinyBLAS for F32,
// ~30% of an AVX-512 core's FP32 peak here) and needs both operands contiguous along K, so the backward
// would need transposed copies of every frozen matrix and copies of transposed activations. This is a
// packed GEMM in the BLIS layout instead (register-blocked micro-kernel over panels packed to fit L1/L2):
// packing reads any strides, and dequantizes any ggml type, so one kernel computes W·x, Wᵀ·dy straight
// from the stored (quantized) W, the LoRA outer products and the attention products. It runs as a ggml
// custom op in the CPU backend's thread pool; GPU backends keep ggml's own mul_mat.
#include "trainer_internal.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#define DT_X86 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define DT_TARGET(x)
#else
#define DT_TARGET(x) __attribute__((target(x)))
#endif
#endif

namespace {

enum class dt_isa { none, avx2, avx512 };

#ifdef DT_X86
// The widest vector unit the processor and the OS both support (XCR0 says the OS saves its registers).
dt_isa detect_isa() {
#if defined(_MSC_VER) && !defined(__clang__)
    int r[4];
    __cpuid(r, 0);
    if (r[0] < 7) return dt_isa::none;
    __cpuid(r, 1);
    const bool osxsave = (r[2] >> 27) & 1, fma = (r[2] >> 12) & 1, avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx || !fma) return dt_isa::none;
    const unsigned long long xcr0 = _xgetbv(0);
    __cpuidex(r, 7, 0);
    const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
    if (avx512f && (xcr0 & 0xe6) == 0xe6) return dt_isa::avx512;
    if (avx2 && (xcr0 & 0x6) == 0x6) return dt_isa::avx2;
    return dt_isa::none;
#else
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return dt_isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dt_isa::avx2;
    return dt_isa::none;
#endif
}
#else
dt_isa detect_isa() { return dt_isa::none; }
#endif

dt_isa isa() {
    static const dt_isa v = [] {
        const char * off = getenv("DOCTUNE_CPU_GEMM");
        if (off && strcmp(off, "0") == 0) return dt_isa::none;
        if (off && strcmp(off, "avx2") == 0 && detect_isa() != dt_isa::none) return dt_isa::avx2;
        return detect_isa();
    }();
    return v;
}

// Register tile: MR rows of C (one or two vectors) by NR columns. KC × NR of B stays in L1, MC × KC of A in L2.
// Products with at most one vector of rows (LoRA's rank) take a one-vector tile with more columns, so that
// half of every register is not wasted.
constexpr int64_t KC = 256, MC = 256, NC = 1024;
struct tile { int mr, nr; };
tile tile_of(dt_isa i, int64_t M) {
    if (i == dt_isa::avx512) return M <= 16 ? tile{ 16, 24 } : tile{ 32, 12 };
    return M <= 8 ? tile{ 8, 12 } : tile{ 16, 6 };
}
constexpr int MAX_NR = 24;

// ---------------------------------------------------------------- micro-kernels: C[mr × nr] (+)= alpha·Ap·Bp

#ifdef DT_X86
template <int MV, int NR>
DT_TARGET("avx512f")
void kernel_avx512(int64_t kc, const float * __restrict a, const float * __restrict b, float * c, int64_t ldc, float alpha, bool acc, int mv, int nv) {
    __m512 cr[MV][NR];
    for (int i = 0; i < MV; i++) for (int j = 0; j < NR; j++) cr[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 av[MV];
        for (int i = 0; i < MV; i++) av[i] = _mm512_load_ps(a + 16 * i);
        for (int j = 0; j < NR; j++) {
            const __m512 bj = _mm512_set1_ps(b[j]);
            for (int i = 0; i < MV; i++) cr[i][j] = _mm512_fmadd_ps(av[i], bj, cr[i][j]);
        }
        a += 16 * MV;
        b += NR;
    }
    __mmask16 mask[MV];
    for (int i = 0; i < MV; i++) {
        const int rows = mv - 16 * i;
        mask[i] = rows >= 16 ? (__mmask16) 0xffff : rows > 0 ? (__mmask16) ((1u << rows) - 1) : (__mmask16) 0;
    }
    const __m512 va = _mm512_set1_ps(alpha);
    for (int j = 0; j < nv; j++) {
        float * cj = c + j * ldc;
        for (int i = 0; i < MV; i++) {
            __m512 r = _mm512_mul_ps(cr[i][j], va);
            if (acc) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[i], cj + 16 * i));
            _mm512_mask_storeu_ps(cj + 16 * i, mask[i], r);
        }
    }
}

template <int MV, int NR>
DT_TARGET("avx2,fma")
void kernel_avx2(int64_t kc, const float * __restrict a, const float * __restrict b, float * c, int64_t ldc, float alpha, bool acc, int mv, int nv) {
    __m256 cr[MV][NR];
    for (int i = 0; i < MV; i++) for (int j = 0; j < NR; j++) cr[i][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 av[MV];
        for (int i = 0; i < MV; i++) av[i] = _mm256_load_ps(a + 8 * i);
        for (int j = 0; j < NR; j++) {
            const __m256 bj = _mm256_broadcast_ss(b + j);
            for (int i = 0; i < MV; i++) cr[i][j] = _mm256_fmadd_ps(av[i], bj, cr[i][j]);
        }
        a += 8 * MV;
        b += NR;
    }
    alignas(32) int32_t lanes[8 * MV];
    for (int i = 0; i < 8 * MV; i++) lanes[i] = i < mv ? -1 : 0;
    const __m256 va = _mm256_set1_ps(alpha);
    for (int j = 0; j < nv; j++) {
        float * cj = c + j * ldc;
        for (int i = 0; i < MV; i++) {
            const __m256i m = _mm256_load_si256((const __m256i *) (lanes + 8 * i));
            __m256 r = _mm256_mul_ps(cr[i][j], va);
            if (acc) r = _mm256_add_ps(r, _mm256_maskload_ps(cj + 8 * i, m));
            _mm256_maskstore_ps(cj + 8 * i, m, r);
        }
    }
}

using kernel_fn = void (*)(int64_t, const float *, const float *, float *, int64_t, float, bool, int, int);
kernel_fn kernel_for(dt_isa i, tile t) {
    if (i == dt_isa::avx512) return t.mr == 16 ? kernel_avx512<1, 24> : kernel_avx512<2, 12>;
    return t.mr == 8 ? kernel_avx2<1, 12> : kernel_avx2<2, 6>;
}
#endif

// ---------------------------------------------------------------- operands

// A(m, k) of one batch slice: F32 at any strides, or rows of a stored matrix in any ggml type (dequantized
// while packing), either along k (W·x: row m of W) or along m (Wᵀ·dy: row k of W).
struct operand_a {
    const char * data;
    int64_t M, K;
    enum { f32, rows_k, rows_m } mode;
    size_t sm, sk;             // f32: byte strides
    size_t row;                // rows_*: bytes per stored row
    ggml_type type;
    ggml_to_float_t to_float;
};

struct operand_b {             // B(k, n), F32
    const char * data;
    size_t sk, sn;
};

// ---------------------------------------------------------------- packing

// Transposing copy into panels: element kk of rows[j] (j < n, each `len` contiguous floats) goes to column
// c0 + j of the panels of width w, i.e. out[q·len·w + kk·w + (c0 + j − q·w)] with q = (c0 + j) / w. Packing A
// from k-contiguous rows and B from k-contiguous columns are both this; in-register 16×16 (8×8) transposes
// and masked stores do it a vector at a time.
void scatter_scalar(const float * const * rows, int n, int64_t len, int64_t c0, int w, float * out, int64_t from) {
    for (int j = 0; j < n; j++) {
        const int64_t c = c0 + j;
        float * o = out + (c / w) * len * w + c % w;
        for (int64_t kk = from; kk < len; kk++) o[kk * w] = rows[j][kk];
    }
}

#ifdef DT_X86
DT_TARGET("avx512f")
void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {   // u[4g + c]: in each 128-bit lane L, column 4L + c of rows 4g..4g+3
        u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xee);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xee);
    }
    for (int c = 0; c < 4; c++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(v0, v1, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v0, v1, 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(w0, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xdd);
    }
}

DT_TARGET("avx512f")
void scatter16(const float * const * rows, int64_t len, int64_t c0, int w, float * out) {
    // the 16 columns fall in at most three panels: a masked store into each
    __mmask16 mask[3] = { 0, 0, 0 };
    float * base[3] = { nullptr, nullptr, nullptr };
    const int64_t q0 = c0 / w;
    for (int l = 0; l < 16; l++) mask[(c0 + l) / w - q0] |= (__mmask16) (1u << l);
    for (int i = 0; i < 3; i++) base[i] = out + (q0 + i) * len * w + (c0 - (q0 + i) * w);
    int64_t kk = 0;
    for (; kk + 16 <= len; kk += 16) {
        __m512 r[16];
        for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(rows[j] + kk);
        transpose16(r);
        for (int k = 0; k < 16; k++) {
            for (int i = 0; i < 3; i++) if (mask[i]) _mm512_mask_storeu_ps(base[i] + (kk + k) * w, mask[i], r[k]);
        }
    }
    scatter_scalar(rows, 16, len, c0, w, out, kk);
}

DT_TARGET("avx2,fma")
void scatter8(const float * const * rows, int64_t len, int64_t c0, int w, float * out) {
    alignas(32) int32_t lanes[3][8] = {};
    bool used[3] = { false, false, false };
    float * base[3];
    const int64_t q0 = c0 / w;
    for (int l = 0; l < 8; l++) {
        lanes[(c0 + l) / w - q0][l] = -1;
        used[(c0 + l) / w - q0] = true;
    }
    for (int i = 0; i < 3; i++) base[i] = out + (q0 + i) * len * w + (c0 - (q0 + i) * w);
    const __m256i m[3] = { _mm256_load_si256((const __m256i *) lanes[0]), _mm256_load_si256((const __m256i *) lanes[1]), _mm256_load_si256((const __m256i *) lanes[2]) };
    int64_t kk = 0;
    for (; kk + 8 <= len; kk += 8) {
        __m256 r[8], t[8], u[8];
        for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(rows[j] + kk);
        for (int i = 0; i < 4; i++) {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int g = 0; g < 2; g++) {
            u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
            u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xee);
            u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
            u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xee);
        }
        for (int c = 0; c < 4; c++) {
            r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
            r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
        }
        for (int k = 0; k < 8; k++) {
            for (int i = 0; i < 3; i++) if (used[i]) _mm256_maskstore_ps(base[i] + (kk + k) * w, m[i], r[k]);
        }
    }
    scatter_scalar(rows, 8, len, c0, w, out, kk);
}
#endif

// Groups of a vector's width of rows go through the transposes, the rest element by element.
void scatter_rows(const float * const * rows, int n, int64_t len, int64_t c0, int w, float * out) {
    int j = 0;
#ifdef DT_X86
    const dt_isa which = isa();
    const int g = which == dt_isa::avx512 ? 16 : which == dt_isa::avx2 ? 8 : 0;
    for (; g && j + g <= n; j += g) {
        if (g == 16) scatter16(rows + j, len, c0 + j, w, out);
        else scatter8(rows + j, len, c0 + j, w, out);
    }
#endif
    if (j < n) scatter_scalar(rows + j, n - j, len, c0 + j, w, out, 0);
}

void dequant(const operand_a & A, const char * row, int64_t first, int64_t n, float * out) {
    // `first` is a multiple of the block size (blocks are whole: rows and packing ranges are aligned to them)
    const int64_t blck = ggml_blck_size(A.type);
    A.to_float(row + (first / blck) * ggml_type_size(A.type), out, n);
}

// Panels of mr rows: out[p][kk*mr + mm] = A(m0 + p*mr + mm, k0 + kk), zero past M.
void pack_a(const operand_a & A, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float * out, std::vector<float> & tmp) {
    const int64_t np = (mc + mr - 1) / mr;
    if (mc % mr) std::fill(out + (np - 1) * kc * mr, out + np * kc * mr, 0.0f);
    if (A.mode == operand_a::f32 && A.sm == sizeof(float)) {
        for (int64_t p = 0; p < np; p++) {
            const int64_t n = std::min<int64_t>(mr, mc - p * mr);
            float * o = out + p * kc * mr;
            const char * src = A.data + (m0 + p * mr) * A.sm + k0 * A.sk;
            for (int64_t kk = 0; kk < kc; kk++) memcpy(o + kk * mr, src + kk * A.sk, n * sizeof(float));
        }
    } else if (A.mode == operand_a::rows_m) {
        tmp.resize(mc);
        for (int64_t kk = 0; kk < kc; kk++) {
            dequant(A, A.data + (k0 + kk) * A.row, m0, mc, tmp.data());
            for (int64_t p = 0; p < np; p++) {
                const int64_t n = std::min<int64_t>(mr, mc - p * mr);
                memcpy(out + p * kc * mr + kk * mr, tmp.data() + p * mr, n * sizeof(float));
            }
        }
    } else {
        // rows of A along k, 16 at a time: straight from F32, or dequantized / gathered into tmp first
        constexpr int G = 16;
        tmp.resize((size_t) G * kc);
        const float * rows[G];
        for (int64_t mm = 0; mm < mc; mm += G) {
            const int n = (int) std::min<int64_t>(G, mc - mm);
            for (int j = 0; j < n; j++) {
                const int64_t m = m0 + mm + j;
                float * t = tmp.data() + (size_t) j * kc;
                if (A.mode == operand_a::rows_k) {
                    dequant(A, A.data + m * A.row, k0, kc, t);
                    rows[j] = t;
                } else if (A.sk == sizeof(float)) {
                    rows[j] = (const float *) (A.data + m * A.sm + k0 * A.sk);
                } else {
                    for (int64_t kk = 0; kk < kc; kk++) t[kk] = *(const float *) (A.data + m * A.sm + (k0 + kk) * A.sk);
                    rows[j] = t;
                }
            }
            scatter_rows(rows, n, kc, mm, mr, out);
        }
    }
}

// Panels of nr columns: out[q][kk*nr + nn] = B(k0 + kk, n0 + q*nr + nn), zero past nc.
void pack_b(const operand_b & B, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float * out) {
    const int64_t nq = (nc + nr - 1) / nr;
    if (nc % nr) std::fill(out + (nq - 1) * kc * nr, out + nq * kc * nr, 0.0f);
    if (B.sn == sizeof(float)) {
        for (int64_t q = 0; q < nq; q++) {
            const int64_t n = std::min<int64_t>(nr, nc - q * nr);
            const char * src = B.data + k0 * B.sk + (n0 + q * nr) * B.sn;
            float * o = out + q * kc * nr;
            for (int64_t kk = 0; kk < kc; kk++) memcpy(o + kk * nr, src + kk * B.sk, n * sizeof(float));
        }
        return;
    }
    if (B.sk == sizeof(float)) {
        // columns of B along k, 16 at a time through the transposes
        constexpr int G = 16;
        const float * cols[G];
        for (int64_t nn = 0; nn < nc; nn += G) {
            const int n = (int) std::min<int64_t>(G, nc - nn);
            for (int j = 0; j < n; j++) cols[j] = (const float *) (B.data + k0 * B.sk + (n0 + nn + j) * B.sn);
            scatter_rows(cols, n, kc, nn, nr, out);
        }
        return;
    }
    for (int64_t nn = 0; nn < nc; nn++) {
        float * o = out + (nn / nr) * kc * nr + nn % nr;
        const char * col = B.data + k0 * B.sk + (n0 + nn) * B.sn;
        for (int64_t kk = 0; kk < kc; kk++) o[kk * nr] = *(const float *) (col + kk * B.sk);
    }
}

struct buffers {
    float * a = nullptr, * b = nullptr;
    std::vector<float> tmp;
    buffers() {
        a = (float *) aligned(MC * KC);
        b = (float *) aligned(KC * (NC + 2 * MAX_NR));
    }
    ~buffers() { free_aligned(a); free_aligned(b); }
    static void * aligned(size_t n) {
#if defined(_MSC_VER)
        return _aligned_malloc(n * sizeof(float), 64);
#else
        void * p = nullptr;
        return posix_memalign(&p, 64, n * sizeof(float)) == 0 ? p : nullptr;
#endif
    }
    static void free_aligned(void * p) {
#if defined(_MSC_VER)
        _aligned_free(p);
#else
        free(p);
#endif
    }
};

// C[m0.., n0..n1) (+)= alpha · A·B over the whole K, for one batch slice; C is column-major (m contiguous).
void gemm_block(const operand_a & A, const operand_b & B, float * C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                float alpha, bool acc, buffers & buf) {
#ifdef DT_X86
    const dt_isa which = isa();
    const tile tl = tile_of(which, A.M);
    const kernel_fn kernel = kernel_for(which, tl);
#else
    const tile tl{ 1, 1 };
    const auto kernel = [](int64_t, const float *, const float *, float *, int64_t, float, bool, int, int) {};
#endif
    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = std::min(NC, n1 - jc);
        for (int64_t pc = 0; pc < A.K; pc += KC) {
            const int64_t kc = std::min(KC, A.K - pc);
            const bool add = acc || pc > 0;
            pack_b(B, pc, kc, jc, nc, tl.nr, buf.b);
            for (int64_t ic = m0; ic < m1; ic += MC) {
                const int64_t mc = std::min(MC, m1 - ic);
                pack_a(A, ic, mc, pc, kc, tl.mr, buf.a, buf.tmp);
                for (int64_t q = 0; q * tl.nr < nc; q++) {
                    const int nv = (int) std::min<int64_t>(tl.nr, nc - q * tl.nr);
                    for (int64_t p = 0; p * tl.mr < mc; p++) {
                        const int mv = (int) std::min<int64_t>(tl.mr, mc - p * tl.mr);
                        float * c = C + (ic + p * tl.mr) + (jc + q * tl.nr) * ldc;
                        kernel(kc, buf.a + p * kc * tl.mr, buf.b + q * kc * tl.nr, c, ldc, alpha, add, mv, nv);
                    }
                }
            }
        }
    }
}

struct matmul_params {
    float alpha;
};

// dst[i, j, b2, b3] (+)= alpha · Σ_k a[k, i, b2/r2, b3/r3] · b[k, j, b2, b3], as ggml_mul_mat, for any F32
// views of a and b, or a stored matrix (or its transpose) in any type for a. Accumulating when dst is a
// view of src[0] (dt_cpu_mul_mat_acc).
void run_matmul(ggml_tensor * dst, int ith, int nth, void * userdata) {
    const float alpha = ((const matmul_params *) userdata)->alpha;
    const bool acc = dst->src[2] != nullptr;   // in place: src = { acc, a, b }
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
    const tile tl = tile_of(isa(), M);
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
        if (split_m) gemm_block(A, B, C, dst->nb[1] / sizeof(float), lo, hi, 0, N, alpha, acc, buf);
        else gemm_block(A, B, C, dst->nb[1] / sizeof(float), 0, M, lo, hi, alpha, acc, buf);
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

bool dt_cpu_matmul_available() {
    return isa() != dt_isa::none;
}

int dt_cpu_vector_lanes() {
    return isa() == dt_isa::avx512 ? 16 : isa() == dt_isa::avx2 ? 8 : 0;
}

const char * dt_cpu_matmul_isa() {
    switch (isa()) {
        case dt_isa::avx512: return "AVX-512";
        case dt_isa::avx2: return "AVX2";
        default: return "none";
    }
}

// alpha points at a float that outlives the graph (a constant or a trainer field).
ggml_tensor * dt_cpu_mul_mat(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b, const float * alpha) {
    check_operands(a, b);
    ggml_tensor * args[2] = { a, b };
    return ggml_set_name(ggml_custom_4d(ctx, GGML_TYPE_F32, a->ne[1], b->ne[1], b->ne[2], b->ne[3], args, 2, run_matmul, GGML_N_TASKS_MAX, (void *) alpha), "GEMM");
}

ggml_tensor * dt_cpu_mul_mat_acc(ggml_context * ctx, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, const float * alpha) {
    check_operands(a, b);
    GGML_ASSERT(acc->type == GGML_TYPE_F32 && ggml_is_contiguous(acc));
    GGML_ASSERT(acc->ne[0] == a->ne[1] && acc->ne[1] == b->ne[1] && acc->ne[2] == b->ne[2] && acc->ne[3] == b->ne[3]);
    static_assert(sizeof(matmul_params) == sizeof(float), "alpha is the whole parameter block");
    ggml_tensor * args[2] = { a, b };
    return ggml_set_name(ggml_custom_inplace(ctx, acc, args, 2, run_matmul, GGML_N_TASKS_MAX, (void *) alpha), "GEMM+=");
}

// ---------------------------------------------------------------- C API: the product on its own, for tests and benchmarks

extern "C" int dt_cpu_matmul(const dt_matmul_args * p, float * out, double * seconds, char * error, size_t error_len) {
    auto err = [&](const char * m) { if (error && error_len) snprintf(error, error_len, "%s", m); return -1; };
    if (!p || !p->a || !p->b || !out) return err("missing operand");
    if (isa() == dt_isa::none) return err("no CPU GEMM kernel for this processor");
    if (p->a_type < 0 || p->a_type >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) p->a_type)->blck_size == 0) return err("unknown ggml type");
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
    const float alpha = p->alpha;
    ggml_tensor * acc = p->accumulate ? ggml_new_tensor_4d(ctx, GGML_TYPE_F32, aM, bN, p->b_ne[2], p->b_ne[3]) : nullptr;
    ggml_tensor * dst = acc ? dt_cpu_mul_mat_acc(ctx, acc, av, bv, &alpha) : dt_cpu_mul_mat(ctx, av, bv, &alpha);
    const int nth = std::max(1, p->n_threads);
    double best = 1e30;
    for (int r = 0; r < std::max(1, p->repeats); r++) {
        if (acc) memcpy(acc->data, out, out_n * sizeof(float));
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int i = 1; i < nth; i++) pool.emplace_back([=] { run_matmul(dst, i, nth, (void *) &alpha); });
        run_matmul(dst, 0, nth, (void *) &alpha);
        for (auto & th : pool) th.join();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    memcpy(out, dst->data, out_n * sizeof(float));
    if (seconds) *seconds = best;
    ggml_free(ctx);
    return 0;
}

extern "C" const char * dt_cpu_matmul_kernel(void) { return dt_cpu_matmul_isa(); }

extern "C" double dt_cpu_peak_flops(double seconds) { return dt_cpu_peak_gflops(seconds); }

// FP32 peak of one core, for MFU: independent FMA chains in the widest vector unit the GEMM uses.
#ifdef DT_X86
DT_TARGET("avx512f")
static double fma_avx512(int64_t n) {
    __m512 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_ps((float) j);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < n; i++) for (int j = 0; j < 12; j++) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
    float s = 0;
    for (int j = 0; j < 12; j++) s += _mm512_reduce_add_ps(acc[j]);
    return s;
}
DT_TARGET("avx2,fma")
static double fma_avx2(int64_t n) {
    __m256 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_ps((float) j);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < n; i++) for (int j = 0; j < 12; j++) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
    alignas(32) float o[8];
    float s = 0;
    for (int j = 0; j < 12; j++) { _mm256_store_ps(o, acc[j]); s += o[0]; }
    return s;
}
#endif

double dt_cpu_peak_gflops(double seconds) {
#ifdef DT_X86
    const dt_isa which = detect_isa();
    if (which == dt_isa::none) return 0.0;
    const int lanes = which == dt_isa::avx512 ? 16 : 8;
    double best = 0.0, sink = 0.0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int64_t n = 1 << 20;
    // The best of several short runs: a busy neighbour or a frequency ramp only lowers single runs.
    while (std::chrono::steady_clock::now() < deadline) {
        const auto t0 = std::chrono::steady_clock::now();
        sink += which == dt_isa::avx512 ? fma_avx512(n) : fma_avx2(n);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, (double) n * 12 * lanes * 2 / s / 1e9);
        if (s < 0.02) n *= 2;
    }
    return sink == 12345.0 ? 0.0 : best;
#else
    (void) seconds;
    return 0.0;
#endif
}
