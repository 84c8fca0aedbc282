// Graph building blocks that pick a kernel per backend. On the CPU (x86 with AVX2 or AVX-512) matrix
// products go to DocTune's packed GEMM (trainer_cpu_matmul.cpp), which reads transposed and permuted views
// and stored quantized matrices as they are, and accumulates in place; elsewhere they are ggml_mul_mat on
// contiguous operands (transposes made contiguous first, OUT_PROD where the device has it for F32).
#include "trainer_internal.h"

static const float ONE = 1.0f;

static ggml_tensor * rows_contiguous(ggml_context * ctx, ggml_tensor * x) {
    return x->nb[0] == ggml_type_size(x->type) ? x : ggml_cont(ctx, x);
}

ggml_tensor * dt_mm(const dt_ops & o, ggml_tensor * a, ggml_tensor * b, const float * alpha) {
    if (o.t->cpu_matmul) return dt_cpu_mul_mat(o.ctx, a, b, alpha ? alpha : &ONE);
    ggml_tensor * y = ggml_mul_mat(o.ctx, rows_contiguous(o.ctx, a), rows_contiguous(o.ctx, b));
    return alpha && *alpha != 1.0f ? ggml_scale(o.ctx, y, *alpha) : y;
}

ggml_tensor * dt_mm_acc(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, const float * alpha) {
    if (o.t->cpu_matmul) return dt_cpu_mul_mat_acc(o.ctx, acc, a, b, alpha ? alpha : &ONE);
    return ggml_add(o.ctx, acc, dt_mm(o, a, b, alpha));
}

ggml_tensor * dt_mm_weight_t(const dt_ops & o, const dt_matrix & w, ggml_tensor * dy) {
    if (o.t->cpu_matmul) return dt_cpu_mul_mat(o.ctx, ggml_transpose(o.ctx, w.w), dy, &ONE);
    GGML_ASSERT(w.wt && w.wt->ne[0] == dy->ne[0]);
    return ggml_mul_mat(o.ctx, w.wt, dy);
}

void dt_accumulate_outer(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, const float * alpha) {
    GGML_ASSERT(a->ne[1] == b->ne[1]);
    ggml_tensor * r;
    if (o.t->cpu_matmul) {
        r = dt_cpu_mul_mat_acc(o.ctx, acc, ggml_transpose(o.ctx, a), ggml_transpose(o.ctx, b), alpha ? alpha : &ONE);
    } else {
        ggml_tensor * g = o.out_prod_ok ? ggml_out_prod(o.ctx, a, b) : dt_mm(o, ggml_transpose(o.ctx, a), ggml_transpose(o.ctx, b), nullptr);
        if (alpha && *alpha != 1.0f) g = ggml_scale(o.ctx, g, *alpha);
        r = ggml_add_inplace(o.ctx, acc, g);
    }
    ggml_build_forward_expand(o.gf, r);
}
