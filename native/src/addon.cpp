// DocTune's native addon: registers each N-API class or function (one per file) and reports the ggml it runs on.
#include <napi.h>

#include <string>

#include "cpu_matmul_napi.h"
#include "doctune_trainer.h"
#include "ggml.h"
#include "quantize_napi.h"
#include "trainer_napi.h"

static Napi::Value GgmlVersion(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), ggml_version());
}

// A comma-separated list from the C API as a JS array of strings.
static Napi::Array ListOf(Napi::Env env, const std::string & csv) {
    Napi::Array out = Napi::Array::New(env);
    size_t start = 0;
    for (uint32_t i = 0; start <= csv.size(); i++) {
        const size_t end = csv.find(',', start);
        out.Set(i, csv.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

// transposedCopyType(type, nOut, compact): the type the trainer gives a transposed copy (dt_transposed_type).
static Napi::Value TransposedCopyType(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBoolean()) {
        Napi::TypeError::New(env, "transposedCopyType(type, nOut, compact: boolean)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int type = info[0].As<Napi::Number>().Int32Value();
    if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) type)->blck_size == 0) {
        Napi::RangeError::New(env, "unknown ggml type").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    return Napi::Number::New(env, dt_transposed_type(type, info[1].As<Napi::Number>().Int64Value(), info[2].As<Napi::Boolean>().Value() ? 1 : 0));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("ggmlVersion", Napi::Function::New(env, GgmlVersion));
    exports.Set("supportedArchitectures", ListOf(env, dt_supported_architectures()));
    exports.Set("deviceChoices", ListOf(env, dt_device_choices()));
    exports.Set("transposedCopyType", Napi::Function::New(env, TransposedCopyType));
    InitTrainer(env, exports);
    InitQuantize(env, exports);
    InitCpuMatmul(env, exports);
    return exports;
}

NODE_API_MODULE(doctune_native, Init)
