// quantize(type, values, rowLength, threads): ggml's own row quantizers (the ones llama.cpp's quantize tool
// uses), for writing test and benchmark models of realistic size; rows are split across threads.
#include "quantize_napi.h"

#include "ggml.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace {

Napi::Value Quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[2].IsNumber()) {
        Napi::TypeError::New(env, "quantize(type, values: Float32Array, rowLength, threads?)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int type_id = info[0].As<Napi::Number>().Int32Value();
    auto values = info[1].As<Napi::Float32Array>();
    const int64_t row = info[2].As<Napi::Number>().Int64Value();
    const int threads = info.Length() > 3 && info[3].IsNumber() ? std::max(1, info[3].As<Napi::Number>().Int32Value()) : 1;
    if (type_id < 0 || type_id >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) type_id)->blck_size == 0) {
        Napi::RangeError::New(env, "unknown ggml type").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const ggml_type type = (ggml_type) type_id;
    const int64_t n = (int64_t) values.ElementLength();
    if (row <= 0 || n % row != 0 || row % ggml_blck_size(type) != 0 || ggml_quantize_requires_imatrix(type)) {
        Napi::RangeError::New(env, std::string("cannot quantize rows of ") + std::to_string(row) + " values to " + ggml_type_name(type)).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int64_t rows = n / row;
    const size_t row_bytes = ggml_row_size(type, row);
    auto out = Napi::Uint8Array::New(env, (size_t) rows * row_bytes);
    const float * src = values.Data();
    uint8_t * dst = out.Data();
    const int nt = (int) std::min<int64_t>(threads, rows);
    std::vector<std::thread> pool;
    for (int k = 0; k < nt; k++) {
        pool.emplace_back([=] {
            const int64_t r0 = rows * k / nt, r1 = rows * (k + 1) / nt;
            if (type == GGML_TYPE_F32) std::copy(src + r0 * row, src + r1 * row, (float *) dst + r0 * row);
            else if (type == GGML_TYPE_F16) ggml_fp32_to_fp16_row(src + r0 * row, (ggml_fp16_t *) (dst + r0 * row_bytes), (r1 - r0) * row);
            else if (type == GGML_TYPE_BF16) ggml_fp32_to_bf16_row(src + r0 * row, (ggml_bf16_t *) (dst + r0 * row_bytes), (r1 - r0) * row);
            else ggml_quantize_chunk(type, src + r0 * row, dst + r0 * row_bytes, 0, r1 - r0, row, nullptr);
        });
    }
    for (auto & th : pool) th.join();
    return out;
}

} // namespace

Napi::Object InitQuantize(Napi::Env env, Napi::Object exports) {
    exports.Set("quantize", Napi::Function::New(env, Quantize));
    return exports;
}
