// 6c. Micro-kernels of the CPU GEMM: a register tile of C accumulated over packed panels of A and B, the
// rows of C in vectors, each B value broadcast; F32 FMA (AVX-512, AVX2) and BF16 pairs (AVX512-BF16: two
// products per F32 lane and instruction, accumulated in F32). Partial tiles are masked at the store.
#include "trainer_cpu.h"

namespace dt_cpu {

namespace {

#ifdef DT_X86
// C (+)= alpha·tile, the rows past mv and columns past nv left alone (masked).
template <int MV, int NR>
DT_TARGET("avx512f")
inline void store_tile512(const __m512 (&cr)[MV][NR], float * c, int64_t ldc, float alpha, bool acc, int mv, int nv) {
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
    store_tile512<MV, NR>(cr, c, ldc, alpha, acc, mv, nv);
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

#endif


#ifdef DT_HAVE_BF16_KERNEL
template <int MV, int NR>
DT_TARGET("avx512f,avx512bf16")
void kernel_bf16(int64_t kp_n, const uint32_t * __restrict a, const uint32_t * __restrict b, float * c, int64_t ldc, float alpha, bool acc, int mv, int nv) {
    __m512 cr[MV][NR];
    for (int i = 0; i < MV; i++) for (int j = 0; j < NR; j++) cr[i][j] = _mm512_setzero_ps();
    for (int64_t kp = 0; kp < kp_n; kp++) {
        __m512i av[MV];
        for (int i = 0; i < MV; i++) av[i] = _mm512_load_si512((const void *) (a + 16 * i));
        for (int j = 0; j < NR; j++) {
            const __m512i bj = _mm512_set1_epi32((int) b[j]);
            for (int i = 0; i < MV; i++) cr[i][j] = _mm512_dpbf16_ps(cr[i][j], (__m512bh) av[i], (__m512bh) bj);
        }
        a += 16 * MV;
        b += NR;
    }
    store_tile512<MV, NR>(cr, c, ldc, alpha, acc, mv, nv);
}
#endif

} // namespace

kernel_fn kernel_for(isa i, tile t) {
#ifdef DT_X86
    if (i == isa::avx512) return t.mr == 16 ? kernel_avx512<1, 24> : kernel_avx512<2, 12>;
    if (i == isa::avx2) return t.mr == 8 ? kernel_avx2<1, 12> : kernel_avx2<2, 6>;
#endif
    (void) i; (void) t;
    return nullptr;
}

kernel_bf16_fn kernel_bf16_for(tile t) {
#ifdef DT_HAVE_BF16_KERNEL
    if (has_bf16_dot()) return t.mr == 16 ? kernel_bf16<1, 24> : kernel_bf16<2, 12>;
#endif
    (void) t;
    return nullptr;
}

} // namespace dt_cpu
