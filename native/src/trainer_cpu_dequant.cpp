// 6d. Dequantizing while packing. ggml-base's to_float is its portable reference code, built for the baseline
// x86-64 (SSE2): at a step of 256 tokens it took a third of a Q4_K base's step. These are the same formulas,
// operation for operation (so the results are bit-identical to ggml's), in loops the compiler vectorises for
// the CPU's widest unit: the GGUF types of Q4_K_M, Q5_K_M and Q8_0 files. Other types use ggml's.
#include "trainer_cpu.h"

#include <cstring>

namespace dt_cpu {

namespace {

constexpr int QK_K = 256;

inline float half(const uint8_t * p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ggml_fp16_to_fp32(h);
}

inline void scale_min_k4(int j, const uint8_t * q, uint8_t & d, uint8_t & m) {
    if (j < 4) {
        d = q[j] & 63; m = q[j + 4] & 63;
    } else {
        d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

// Block layouts (ggml-common.h): q8_0 {d, qs[32]}; q5_0 {d, qh[4], qs[16]}; q4_0 {d, qs[16]};
// q4_K {d, dmin, scales[12], qs[128]}; q5_K {d, dmin, scales[12], qh[32], qs[128]}; q6_K {ql[128], qh[64], scales[16], d}.
#if defined(_MSC_VER) && !defined(__clang__)
#define DT_ALWAYS_INLINE __forceinline
#else
#define DT_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

DT_ALWAYS_INLINE void q8_0(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 34, y += 32) {
        const float d = half(x);
        const int8_t * qs = (const int8_t *) (x + 2);
        for (int j = 0; j < 32; ++j) y[j] = qs[j] * d;
    }
}

DT_ALWAYS_INLINE void q4_0(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 18, y += 32) {
        const float d = half(x);
        const uint8_t * qs = x + 2;
        for (int j = 0; j < 16; ++j) {
            const int x0 = (qs[j] & 0x0F) - 8, x1 = (qs[j] >> 4) - 8;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }
}

DT_ALWAYS_INLINE void q5_0(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 22, y += 32) {
        const float d = half(x);
        uint32_t qh;
        memcpy(&qh, x + 2, 4);
        const uint8_t * qs = x + 6;
        for (int j = 0; j < 16; ++j) {
            const uint8_t xh_0 = ((qh >> (j + 0)) << 4) & 0x10;
            const uint8_t xh_1 = ((qh >> (j + 12))) & 0x10;
            const int32_t x0 = ((qs[j] & 0x0F) | xh_0) - 16, x1 = ((qs[j] >> 4) | xh_1) - 16;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }
}

DT_ALWAYS_INLINE void q4_k(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++, x += 144) {
        const float d = half(x), min = half(x + 2);
        const uint8_t * scales = x + 4, * q = x + 16;
        for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
            uint8_t sc, m;
            scale_min_k4(is + 0, scales, sc, m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, scales, sc, m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

DT_ALWAYS_INLINE void q5_k(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++, x += 176) {
        const float d = half(x), min = half(x + 2);
        const uint8_t * scales = x + 4, * qh = x + 16, * ql = x + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32) {
            uint8_t sc, m;
            scale_min_k4(is + 0, scales, sc, m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, scales, sc, m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}

DT_ALWAYS_INLINE void q6_k(const uint8_t * x, float * y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++, x += 210) {
        const float d = half(x + 208);
        const uint8_t * ql = x, * qh = x + 128;
        const int8_t * sc = (const int8_t *) (x + 192);
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int8_t q1 = (int8_t) ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int8_t q2 = (int8_t) ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int8_t q3 = (int8_t) ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int8_t q4 = (int8_t) ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

DT_ALWAYS_INLINE void run(ggml_type type, const void * x, float * y, int64_t k) {
    const uint8_t * b = (const uint8_t *) x;
    switch (type) {
        case GGML_TYPE_Q8_0: q8_0(b, y, k); break;
        case GGML_TYPE_Q4_0: q4_0(b, y, k); break;
        case GGML_TYPE_Q5_0: q5_0(b, y, k); break;
        case GGML_TYPE_Q4_K: q4_k(b, y, k); break;
        case GGML_TYPE_Q5_K: q5_k(b, y, k); break;
        case GGML_TYPE_Q6_K: q6_k(b, y, k); break;
        default: break;
    }
}

#ifdef DT_X86
DT_TARGET("avx512f") void run_avx512(ggml_type type, const void * x, float * y, int64_t k) { run(type, x, y, k); }
DT_TARGET("avx2,fma,f16c") void run_avx2(ggml_type type, const void * x, float * y, int64_t k) { run(type, x, y, k); }
#endif

} // namespace

bool has_fast_dequant(ggml_type type) {
    switch (type) {
        case GGML_TYPE_Q8_0: case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K: return true;
        default: return false;
    }
}

void dequantize(ggml_type type, const void * x, float * y, int64_t k) {
#ifdef DT_X86
    if (vector_isa() == isa::avx512) return run_avx512(type, x, y, k);
    if (vector_isa() == isa::avx2) return run_avx2(type, x, y, k);
#endif
    run(type, x, y, k);
}

} // namespace dt_cpu
