// Graph building blocks that pick a kernel per backend. On the CPU (x86 with AVX2 or AVX-512) matrix
// products go to DocTune's packed GEMM (trainer_cpu_matmul.cpp), which reads transposed and permuted views
// and stored quantized matrices as they are, accumulates in place, and takes its operands at the trainer's
// precision; elsewhere they are ggml_mul_mat on contiguous operands (transposes made contiguous first,
// OUT_PROD where the device has it for F32), the activation operand cast to F16/BF16 at reduced precision.
#include "trainer_internal.h"

static ggml_tensor * rows_contiguous(ggml_context * ctx, ggml_tensor * x) {
    return x->nb[0] == ggml_type_size(x->type) ? x : ggml_cont(ctx, x);
}

static bool is_frozen(const dt_trainer * t, const ggml_tensor * x) {
    const ggml_tensor * base = x->view_src ? x->view_src : x;
    return base->buffer && (base->buffer == t->buf_w || base->buffer == t->buf_wt);
}

// ggml path: a·b with `a` (src0) in the reduced type where the product has it on the device. Frozen weights
// keep their stored type (the device converts b to match a quantized or F16 weight itself).
static ggml_tensor * ggml_product(const dt_ops & o, ggml_tensor * a, ggml_tensor * b) {
    a = rows_contiguous(o.ctx, a);
    b = rows_contiguous(o.ctx, b);
    const dt_trainer * t = o.t;
    if (t->precision != DT_PRECISION_F32 && a->type == GGML_TYPE_F32 && !is_frozen(t, a)) {
        const ggml_type type = t->precision == DT_PRECISION_BF16 ? GGML_TYPE_BF16 : GGML_TYPE_F16;
        return ggml_mul_mat(o.ctx, ggml_cast(o.ctx, a, type), b);
    }
    return ggml_mul_mat(o.ctx, a, b);
}

ggml_tensor * dt_mm(const dt_ops & o, ggml_tensor * a, ggml_tensor * b, bool scaled) {
    const dt_trainer * t = o.t;
    if (t->cpu_matmul) return dt_cpu_mul_mat(o.ctx, a, b, scaled ? &t->gemm_scaled : &t->gemm_one);
    ggml_tensor * y = ggml_product(o, a, b);
    return scaled ? ggml_scale(o.ctx, y, t->scale) : y;
}

ggml_tensor * dt_mm_acc(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, bool scaled) {
    const dt_trainer * t = o.t;
    if (t->cpu_matmul) return dt_cpu_mul_mat_acc(o.ctx, acc, a, b, scaled ? &t->gemm_scaled : &t->gemm_one);
    return ggml_add(o.ctx, acc, dt_mm(o, a, b, scaled));
}

ggml_tensor * dt_mm_weight_t(const dt_ops & o, const dt_matrix & w, ggml_tensor * dy) {
    if (o.t->cpu_matmul) return dt_cpu_mul_mat(o.ctx, ggml_transpose(o.ctx, w.w), dy, &o.t->gemm_one);
    GGML_ASSERT(w.wt && w.wt->ne[0] == dy->ne[0]);
    return ggml_mul_mat(o.ctx, w.wt, dy);
}

void dt_accumulate_outer(const dt_ops & o, ggml_tensor * acc, ggml_tensor * a, ggml_tensor * b, bool scaled) {
    GGML_ASSERT(a->ne[1] == b->ne[1]);
    const dt_trainer * t = o.t;
    ggml_tensor * r;
    if (t->cpu_matmul) {
        r = dt_cpu_mul_mat_acc(o.ctx, acc, ggml_transpose(o.ctx, a), ggml_transpose(o.ctx, b), scaled ? &t->gemm_scaled : &t->gemm_one);
    } else {
        ggml_tensor * g = o.out_prod_ok && t->precision == DT_PRECISION_F32 ? ggml_out_prod(o.ctx, a, b)
                                                                            : ggml_product(o, ggml_transpose(o.ctx, a), ggml_transpose(o.ctx, b));
        if (scaled) g = ggml_scale(o.ctx, g, t->scale);
        r = ggml_add_inplace(o.ctx, acc, g);
    }
    ggml_build_forward_expand(o.gf, r);
}
