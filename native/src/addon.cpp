// DocTune's native addon: registers each N-API class or function (one per file) and reports the ggml it runs on.
#include <napi.h>

#include "cpu_matmul_napi.h"
#include "ggml.h"
#include "quantize_napi.h"
#include "trainer_napi.h"

static Napi::Value GgmlVersion(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), ggml_version());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("ggmlVersion", Napi::Function::New(env, GgmlVersion));
    InitTrainer(env, exports);
    InitQuantize(env, exports);
    InitCpuMatmul(env, exports);
    return exports;
}

NODE_API_MODULE(doctune_native, Init)
