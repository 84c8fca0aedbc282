// 6a. The processor's vector units, found at run time (the addon is built once for every x86-64 machine),
// and this core's FP32 peak, measured, for MFU.
#include "trainer_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace dt_cpu {

namespace {

struct features {
    isa vec = isa::none;
    bool bf16 = false;
};

features detect() {
    features f;
#ifdef DT_X86
#if defined(_MSC_VER) && !defined(__clang__)
    int r[4];
    __cpuid(r, 0);
    const int max_leaf = r[0];
    if (max_leaf < 7) return f;
    __cpuid(r, 1);
    const bool osxsave = (r[2] >> 27) & 1, fma = (r[2] >> 12) & 1, avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx || !fma) return f;
    // XCR0: the OS saves the YMM (and ZMM, opmask) registers
    const unsigned long long xcr0 = _xgetbv(0);
    __cpuidex(r, 7, 0);
    const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
    if (avx512f && (xcr0 & 0xe6) == 0xe6) {
        f.vec = isa::avx512;
        __cpuidex(r, 7, 1);
        f.bf16 = (r[0] >> 5) & 1;
    } else if (avx2 && (xcr0 & 0x6) == 0x6) {
        f.vec = isa::avx2;
    }
#else
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        f.vec = isa::avx512;
        f.bf16 = __builtin_cpu_supports("avx512bf16");
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        f.vec = isa::avx2;
    }
#endif
#endif
    return f;
}

const features & found() {
    static const features f = [] {
        features d = detect();
        const char * env = getenv("DOCTUNE_CPU_GEMM");
        if (env && strcmp(env, "0") == 0) return features{};
        if (env && strcmp(env, "avx2") == 0 && d.vec != isa::none) return features{ isa::avx2, false };
#ifndef DT_HAVE_BF16_KERNEL
        d.bf16 = false;
#endif
        return d;
    }();
    return f;
}

#ifdef DT_X86
// Independent FMA chains in the widest vector unit: its throughput, not its latency.
DT_TARGET("avx512f")
float fma_avx512(int64_t n) {
    __m512 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_ps((float) j);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < n; i++) for (int j = 0; j < 12; j++) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
    float s = 0;
    for (int j = 0; j < 12; j++) s += _mm512_reduce_add_ps(acc[j]);
    return s;
}

#ifdef DT_HAVE_BF16_KERNEL
// BF16 dot products: each instruction does two multiply-adds per F32 lane.
DT_TARGET("avx512f,avx512bf16")
float dot_bf16(int64_t n) {
    __m512 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_ps((float) j);
    const __m512i x = _mm512_set1_epi32(0x3f803f80), y = _mm512_set1_epi32(0x33d633d6);   // pairs of 1.0, 1e-7
    for (int64_t i = 0; i < n; i++) for (int j = 0; j < 12; j++) acc[j] = _mm512_dpbf16_ps(acc[j], (__m512bh) x, (__m512bh) y);
    float s = 0;
    for (int j = 0; j < 12; j++) s += _mm512_reduce_add_ps(acc[j]);
    return s;
}
#endif

DT_TARGET("avx2,fma")
float fma_avx2(int64_t n) {
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

} // namespace

isa vector_isa() { return found().vec; }
bool has_bf16_dot() { return found().bf16; }

tile tile_of(isa i, int64_t M) {
    // Products with at most one vector of rows (LoRA's rank) take a one-vector tile with more columns, so
    // that half of every register is not wasted.
    if (i == isa::avx512) return M <= 16 ? tile{ 16, 24 } : tile{ 32, 12 };
    return M <= 8 ? tile{ 8, 12 } : tile{ 16, 6 };
}

} // namespace dt_cpu

bool dt_cpu_matmul_available() { return dt_cpu::vector_isa() != dt_cpu::isa::none; }

int dt_cpu_vector_lanes() {
    return dt_cpu::vector_isa() == dt_cpu::isa::avx512 ? 16 : dt_cpu::vector_isa() == dt_cpu::isa::avx2 ? 8 : 0;
}

const char * dt_cpu_matmul_isa() {
    switch (dt_cpu::vector_isa()) {
        case dt_cpu::isa::avx512: return dt_cpu::has_bf16_dot() ? "AVX-512 (BF16)" : "AVX-512";
        case dt_cpu::isa::avx2: return "AVX2";
        default: return "none";
    }
}

double dt_cpu_peak_gflops(double seconds, bool bf16) {
#ifdef DT_X86
    const dt_cpu::isa which = dt_cpu::vector_isa();
    if (which == dt_cpu::isa::none) return 0.0;
    // BF16 counts where the CPU multiplies BF16 pairs; elsewhere BF16 products run on the F32 units.
#ifdef DT_HAVE_BF16_KERNEL
    const bool pairs = bf16 && dt_cpu::has_bf16_dot();
#else
    const bool pairs = false;
    (void) bf16;
#endif
    const int lanes = (which == dt_cpu::isa::avx512 ? 16 : 8) * (pairs ? 2 : 1);
    double best = 0.0, sink = 0.0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int64_t n = 1 << 20;
    // The best of several short runs: a busy neighbour or a frequency ramp only lowers single runs.
    while (std::chrono::steady_clock::now() < deadline) {
        const auto t0 = std::chrono::steady_clock::now();
#ifdef DT_HAVE_BF16_KERNEL
        if (pairs) sink += dt_cpu::dot_bf16(n);
        else
#endif
        sink += which == dt_cpu::isa::avx512 ? dt_cpu::fma_avx512(n) : dt_cpu::fma_avx2(n);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, (double) n * 12 * lanes * 2 / s / 1e9);
        if (s < 0.02) n *= 2;
    }
    return sink == 12345.0 ? 0.0 : best;
#else
    (void) seconds;
    (void) bf16;
    return 0.0;
#endif
}
