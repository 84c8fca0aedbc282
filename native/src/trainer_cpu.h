// DocTune's CPU kernels (native/src/trainer_cpu_*.cpp), shared between their files: the processor's vector
// units, the GEMM's register tiles and packed operands, and the micro-kernels.
#pragma once

#include "trainer_internal.h"

#include <cstdint>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#define DT_X86 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#define DT_TARGET(x)
#else
#define DT_TARGET(x) __attribute__((target(x)))
// The BF16 dot-product kernel needs the compiler's AVX512-BF16 types (GCC ≥ 10, Clang); elsewhere BF16 is
// emulated (operands rounded to BF16, products in F32).
#define DT_HAVE_BF16_KERNEL 1
#endif
#endif

namespace dt_cpu {

enum class isa { none, avx2, avx512 };
// The widest vector unit the GEMM uses here (DOCTUNE_CPU_GEMM=0 turns the kernels off, =avx2 caps them).
isa vector_isa();
// The processor has AVX512-BF16 (two BF16 products per F32 lane and instruction).
bool has_bf16_dot();

enum class prec { f32, f16, bf16 };

// Register tile: MR rows of C (one or two vectors) by NR columns. KC × NR of B stays in L1, MC × KC of A in L2.
constexpr int64_t KC = 256, MC = 256, NC = 1024;
constexpr int MAX_NR = 24;
struct tile { int mr, nr; };
tile tile_of(isa i, int64_t M);

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

// Panels of mr rows: out[p][kk*mr + mm] = A(m0 + p*mr + mm, k0 + kk), zero past the block.
void pack_a(const operand_a & A, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float * out, std::vector<float> & tmp);
// Panels of nr columns: out[q][kk*nr + nn] = B(k0 + kk, n0 + q*nr + nn), zero past nc.
void pack_b(const operand_b & B, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float * out);
// Vectorised dequantization of the common GGUF types (bit-identical to ggml's to_float), where it has one.
bool has_fast_dequant(ggml_type type);
void dequantize(ggml_type type, const void * x, float * y, int64_t k);
// Rounds n packed values to F16 or BF16 precision in place (the products are then taken in F32).
void round_to(prec p, float * x, int64_t n);
// Packed F32 panels (kc rows of w values) as BF16 pairs: out[kp*w + i] holds rows 2kp and 2kp+1 of column i.
void to_bf16_pairs(const float * panel, int64_t kc, int w, uint32_t * out);

// C[mr × nr] (+)= alpha · Ap·Bp over kc (F32 panels) or kc/2 pairs (BF16 pairs).
using kernel_fn = void (*)(int64_t, const float *, const float *, float *, int64_t, float, bool, int, int);
using kernel_bf16_fn = void (*)(int64_t, const uint32_t *, const uint32_t *, float *, int64_t, float, bool, int, int);
kernel_fn kernel_for(isa i, tile t);
kernel_bf16_fn kernel_bf16_for(tile t);   // null without AVX512-BF16

}  // namespace dt_cpu
