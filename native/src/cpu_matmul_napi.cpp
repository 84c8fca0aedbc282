// cpuMatmul(options), cpuMatmulKernel(), cpuPeakFlops(seconds): the trainer's CPU matrix product on its own,
// so that tests check it against a reference on any layout and type and benchmarks time it.
#include "cpu_matmul_napi.h"

#include "doctune_trainer.h"
#include "ggml.h"

#include <string>

namespace {

bool Ne(const Napi::Value & v, int64_t out[4]) {
    if (!v.IsArray()) return false;
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() < 1 || a.Length() > 4) return false;
    for (uint32_t i = 0; i < 4; i++) {
        out[i] = i < a.Length() && a.Get(i).IsNumber() ? a.Get(i).As<Napi::Number>().Int64Value() : 1;
        if (out[i] <= 0) return false;
    }
    return true;
}

// { a: Uint8Array|Float32Array (stored bytes), aType, aNe, aTransposed?, b: Float32Array, bNe, bTransposed?,
//   alpha?, accumulate?: Float32Array (values to add to), threads?, repeats? } -> { out: Float32Array, seconds }
Napi::Value CpuMatmul(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
        Napi::TypeError::New(env, "cpuMatmul expects an options object").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    auto num = [&](const char * k, double d) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
    dt_matmul_args p{};
    if (!o.Get("a").IsTypedArray() || !o.Get("b").IsTypedArray() || o.Get("b").As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        !Ne(o.Get("aNe"), p.a_ne) || !Ne(o.Get("bNe"), p.b_ne)) {
        Napi::TypeError::New(env, "cpuMatmul needs a (typed array), aNe, b (Float32Array) and bNe").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::TypedArray a = o.Get("a").As<Napi::TypedArray>();
    Napi::Float32Array b = o.Get("b").As<Napi::Float32Array>();
    p.a = (const uint8_t *) a.ArrayBuffer().Data() + a.ByteOffset();
    p.a_type = (int32_t) num("aType", 0);
    p.a_transposed = o.Get("aTransposed").ToBoolean() ? 1 : 0;
    p.b = b.Data();
    p.b_transposed = o.Get("bTransposed").ToBoolean() ? 1 : 0;
    p.alpha = (float) num("alpha", 1.0);
    p.n_threads = (int32_t) num("threads", 1);
    p.repeats = (int32_t) num("repeats", 1);
    const std::string precision = o.Has("precision") && o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "f32";
    p.precision = precision == "f16" ? DT_PRECISION_F16 : precision == "bf16" ? DT_PRECISION_BF16 : DT_PRECISION_F32;
    const int64_t M = p.a_transposed ? p.a_ne[0] : p.a_ne[1], N = p.b_transposed ? p.b_ne[0] : p.b_ne[1];
    const size_t n_out = (size_t) (M * N * p.b_ne[2] * p.b_ne[3]);
    if ((size_t) b.ElementLength() != (size_t) (p.b_ne[0] * p.b_ne[1] * p.b_ne[2] * p.b_ne[3])) {
        Napi::RangeError::New(env, "b does not hold bNe values").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    auto out = Napi::Float32Array::New(env, n_out);
    if (o.Get("accumulate").IsTypedArray()) {
        Napi::Float32Array acc = o.Get("accumulate").As<Napi::Float32Array>();
        if (acc.ElementLength() != n_out) {
            Napi::RangeError::New(env, "accumulate does not match the output").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        std::copy(acc.Data(), acc.Data() + n_out, out.Data());
        p.accumulate = 1;
    }
    if (p.a_type < 0 || p.a_type >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) p.a_type)->blck_size == 0 ||
        p.a_ne[0] % ggml_blck_size((ggml_type) p.a_type) != 0 ||
        a.ByteLength() != ggml_row_size((ggml_type) p.a_type, p.a_ne[0]) * (size_t) (p.a_ne[1] * p.a_ne[2] * p.a_ne[3])) {
        Napi::RangeError::New(env, "a does not hold aNe values of aType").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    double seconds = 0.0;
    char error[256] = {0};
    if (dt_cpu_matmul(&p, out.Data(), &seconds, error, sizeof(error)) != 0) {
        Napi::Error::New(env, error).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("out", out);
    r.Set("seconds", seconds);
    return r;
}

Napi::Value CpuMatmulKernel(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), dt_cpu_matmul_kernel());
}

Napi::Value CpuPeakFlops(const Napi::CallbackInfo & info) {
    const double seconds = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0.5;
    const bool bf16 = info.Length() > 1 && info[1].IsString() && info[1].As<Napi::String>().Utf8Value() == "bf16";
    return Napi::Number::New(info.Env(), dt_cpu_peak_flops(seconds, bf16 ? DT_PRECISION_BF16 : DT_PRECISION_F32) * 1e9);
}

} // namespace

Napi::Object InitCpuMatmul(Napi::Env env, Napi::Object exports) {
    exports.Set("cpuMatmul", Napi::Function::New(env, CpuMatmul));
    exports.Set("cpuMatmulKernel", Napi::Function::New(env, CpuMatmulKernel));
    exports.Set("cpuPeakFlops", Napi::Function::New(env, CpuPeakFlops));
    return exports;
}
