// 6b. Packing for the CPU GEMM: operands copied into the panel layout the micro-kernels stream through,
// from any strides, dequantized from any ggml type, transposed in registers where the source runs along k;
// and, for reduced precision, rounded to F16/BF16 or laid out as BF16 pairs for the dot-product kernel.
#include "trainer_cpu.h"

#include <algorithm>
#include <cstring>

namespace dt_cpu {

namespace {

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
    const isa which = vector_isa();
    const int g = which == isa::avx512 ? 16 : which == isa::avx2 ? 8 : 0;
    for (; g && j + g <= n; j += g) {
        if (g == 16) scatter16(rows + j, len, c0 + j, w, out);
        else scatter8(rows + j, len, c0 + j, w, out);
    }
#endif
    if (j < n) scatter_scalar(rows + j, n - j, len, c0 + j, w, out, 0);
}

// A panel row of n floats: the full widths inline (a libc memcpy call per 128 bytes cost more than the copy).
template <int W>
inline void copy_fixed(float * __restrict d, const float * __restrict s) {
    for (int i = 0; i < W; i++) d[i] = s[i];
}

inline void copy_row(float * d, const float * s, int64_t n) {
    switch (n) {
        case 32: copy_fixed<32>(d, s); return;
        case 24: copy_fixed<24>(d, s); return;
        case 16: copy_fixed<16>(d, s); return;
        case 12: copy_fixed<12>(d, s); return;
        case 8: copy_fixed<8>(d, s); return;
        case 6: copy_fixed<6>(d, s); return;
        default: memcpy(d, s, n * sizeof(float));
    }
}

void dequant(const operand_a & A, const char * row, int64_t first, int64_t n, float * out) {
    // `first` is a multiple of the block size (blocks are whole: rows and packing ranges are aligned to them)
    const int64_t blck = ggml_blck_size(A.type);
    const char * from = row + (first / blck) * ggml_type_size(A.type);
    if (has_fast_dequant(A.type)) dequantize(A.type, from, out, n);
    else A.to_float(from, out, n);
}

} // namespace

// Panels of mr rows: out[p][kk*mr + mm] = A(m0 + p*mr + mm, k0 + kk), zero past M.
void pack_a(const operand_a & A, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float * out, std::vector<float> & tmp) {
    const int64_t np = (mc + mr - 1) / mr;
    if (mc % mr) std::fill(out + (np - 1) * kc * mr, out + np * kc * mr, 0.0f);
    if (A.mode == operand_a::f32 && A.sm == sizeof(float)) {
        for (int64_t p = 0; p < np; p++) {
            const int64_t n = std::min<int64_t>(mr, mc - p * mr);
            float * o = out + p * kc * mr;
            const char * src = A.data + (m0 + p * mr) * A.sm + k0 * A.sk;
            for (int64_t kk = 0; kk < kc; kk++) copy_row(o + kk * mr, (const float *) (src + kk * A.sk), n);
        }
    } else if (A.mode == operand_a::rows_m) {
        tmp.resize(mc);
        for (int64_t kk = 0; kk < kc; kk++) {
            dequant(A, A.data + (k0 + kk) * A.row, m0, mc, tmp.data());
            for (int64_t p = 0; p < np; p++) {
                const int64_t n = std::min<int64_t>(mr, mc - p * mr);
                copy_row(out + p * kc * mr + kk * mr, tmp.data() + p * mr, n);
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
            for (int64_t kk = 0; kk < kc; kk++) copy_row(o + kk * nr, (const float *) (src + kk * B.sk), n);
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


// ---------------------------------------------------------------- reduced precision

namespace {

inline uint32_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (u >> 16) | 0x40;     // NaN stays NaN
    return (u + 0x7fff + ((u >> 16) & 1)) >> 16;                    // round to nearest even
}

inline float round_scalar(prec p, float x) {
    if (p == prec::bf16) {
        const uint32_t u = bf16_bits(x) << 16;
        float y;
        memcpy(&y, &u, 4);
        return y;
    }
    return ggml_fp16_to_fp32(ggml_fp32_to_fp16(x));
}

#ifdef DT_X86
DT_TARGET("avx512f")
__m512i bf16_round512(__m512 x) {
    // x + 0x7fff + lsb, upper halves are the rounded BF16 (finite values; training inputs are finite)
    const __m512i u = _mm512_castps_si512(x);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
}

DT_TARGET("avx512f")
void round_avx512(prec p, float * x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        __m512 r;
        if (p == prec::bf16) r = _mm512_castsi512_ps(_mm512_and_si512(bf16_round512(v), _mm512_set1_epi32((int) 0xffff0000)));
        else r = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm512_storeu_ps(x + i, r);
    }
    for (; i < n; i++) x[i] = round_scalar(p, x[i]);
}

DT_TARGET("avx2,fma,f16c")
void round_avx2(prec p, float * x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        __m256 r;
        if (p == prec::bf16) {
            const __m256i u = _mm256_castps_si256(v);
            const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
            const __m256i rr = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
            r = _mm256_castsi256_ps(_mm256_and_si256(rr, _mm256_set1_epi32((int) 0xffff0000)));
        } else {
            r = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        _mm256_storeu_ps(x + i, r);
    }
    for (; i < n; i++) x[i] = round_scalar(p, x[i]);
}

// Two rows of a panel (2kp and 2kp+1, w columns each) into one row of BF16 pairs, the even row in the low half.
DT_TARGET("avx512f")
void pairs_avx512(const float * even, const float * odd, int w, uint32_t * out) {
    for (int j = 0; j < w; j += 16) {
        const __mmask16 m = w - j >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << (w - j)) - 1);
        const __m512i lo = _mm512_srli_epi32(bf16_round512(_mm512_maskz_loadu_ps(m, even + j)), 16);
        const __m512i hi = odd ? _mm512_and_si512(bf16_round512(_mm512_maskz_loadu_ps(m, odd + j)), _mm512_set1_epi32((int) 0xffff0000)) : _mm512_setzero_si512();
        _mm512_mask_storeu_epi32(out + j, m, _mm512_or_si512(lo, hi));
    }
}
#endif

} // namespace

void round_to(prec p, float * x, int64_t n) {
    if (p == prec::f32) return;
#ifdef DT_X86
    if (vector_isa() == isa::avx512) return round_avx512(p, x, n);
    if (vector_isa() == isa::avx2) return round_avx2(p, x, n);
#endif
    for (int64_t i = 0; i < n; i++) x[i] = round_scalar(p, x[i]);
}

void to_bf16_pairs(const float * panel, int64_t kc, int w, uint32_t * out) {
    for (int64_t kp = 0; kp < (kc + 1) / 2; kp++) {
        const float * even = panel + 2 * kp * w;
        const float * odd = 2 * kp + 1 < kc ? even + w : nullptr;   // an odd K pairs its last row with zero
#ifdef DT_X86
        if (vector_isa() == isa::avx512) { pairs_avx512(even, odd, w, out + kp * w); continue; }
#endif
        for (int j = 0; j < w; j++) out[kp * w + j] = bf16_bits(even[j]) | (odd ? bf16_bits(odd[j]) << 16 : 0u);
    }
}

} // namespace dt_cpu
