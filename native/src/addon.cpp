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

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("ggmlVersion", Napi::Function::New(env, GgmlVersion));
    exports.Set("supportedArchitectures", ListOf(env, dt_supported_architectures()));
    exports.Set("deviceChoices", ListOf(env, dt_device_choices()));
    InitTrainer(env, exports);
    InitQuantize(env, exports);
    InitCpuMatmul(env, exports);
    return exports;
}

NODE_API_MODULE(doctune_native, Init)
