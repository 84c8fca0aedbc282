// N-API face of the C trainer API: the class NativeTrainer, created by createTrainer() (async: loading a
// model reads the whole file). Work that runs a graph goes to an AsyncWorker; failures become JS errors.
#include "trainer_napi.h"

#include "doctune_trainer.h"

#include <string>
#include <vector>

namespace {

Napi::Object DeviceObject(Napi::Env env, const dt_device_info & d) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("backend", d.backend); o.Set("name", d.name); o.Set("description", d.description);
    o.Set("memoryFree", (double) d.memory_free); o.Set("memoryTotal", (double) d.memory_total);
    return o;
}

std::vector<std::string> StringList(const Napi::Value & v) {
    std::vector<std::string> out;
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) if (a.Get(i).IsString()) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    return out;
}

class NativeTrainer : public Napi::ObjectWrap<NativeTrainer> {
  public:
    static Napi::FunctionReference ctor;

    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "NativeTrainer", {
            InstanceMethod("info", &NativeTrainer::Info),
            InstanceMethod("paramDescs", &NativeTrainer::ParamDescs),
            InstanceMethod("getParams", &NativeTrainer::GetParams),
            InstanceMethod("setParams", &NativeTrainer::SetParams),
            InstanceMethod("getGrads", &NativeTrainer::GetGrads),
            InstanceMethod("loss", &NativeTrainer::Loss),
            InstanceMethod("logits", &NativeTrainer::Logits),
            InstanceMethod("adamwStep", &NativeTrainer::AdamwStep),
            InstanceMethod("plan", &NativeTrainer::Plan),
            InstanceMethod("getOptimizer", &NativeTrainer::GetOptimizer),
            InstanceMethod("setOptimizer", &NativeTrainer::SetOptimizer),
            InstanceMethod("setProfile", &NativeTrainer::SetProfile),
            InstanceMethod("setCheckpointing", &NativeTrainer::SetCheckpointing),
            InstanceMethod("profile", &NativeTrainer::Profile),
            InstanceMethod("dispose", &NativeTrainer::Dispose),
        });
    }

    explicit NativeTrainer(const Napi::CallbackInfo & info) : Napi::ObjectWrap<NativeTrainer>(info) {
        if (info.Length() == 1 && info[0].IsExternal()) handle_ = info[0].As<Napi::External<dt_trainer>>().Data();
    }
    ~NativeTrainer() override { dt_trainer_free(handle_); }

    dt_trainer * handle_ = nullptr;
    bool busy_ = false;

  private:
    bool Ready(Napi::Env env) {
        if (!handle_) { Napi::Error::New(env, "trainer was disposed").ThrowAsJavaScriptException(); return false; }
        if (busy_) { Napi::Error::New(env, "trainer is busy with another call").ThrowAsJavaScriptException(); return false; }
        return true;
    }

    int64_t NParams() {
        dt_trainer_info info;
        dt_trainer_get_info(handle_, &info);
        return info.n_params;
    }

    Napi::Value Info(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        dt_trainer_info i;
        dt_trainer_get_info(handle_, &i);
        Napi::Object o = Napi::Object::New(env);
        o.Set("arch", i.arch); o.Set("backend", i.backend);
        o.Set("nVocab", i.n_vocab); o.Set("nEmbd", i.n_embd); o.Set("nLayer", i.n_layer); o.Set("nHead", i.n_head);
        o.Set("nHeadKv", i.n_head_kv); o.Set("nFf", i.n_ff); o.Set("nCtxTrain", i.n_ctx_train);
        o.Set("nParams", (double) i.n_params); o.Set("nTensors", i.n_tensors);
        o.Set("device", DeviceObject(env, i.device));
        o.Set("notes", i.notes);
        o.Set("nSplits", i.n_splits);
        o.Set("nFallbacks", i.n_fallbacks);
        o.Set("cpuMatmul", i.cpu_matmul != 0);
        o.Set("precision", i.precision == DT_PRECISION_BF16 ? "bf16" : i.precision == DT_PRECISION_F16 ? "f16" : "f32");
        o.Set("precisionNote", i.precision_note);
        o.Set("checkpointing", i.checkpointing != 0);
        return o;
    }

    Napi::Value ParamDescs(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        dt_trainer_info i;
        dt_trainer_get_info(handle_, &i);
        Napi::Array out = Napi::Array::New(env, i.n_tensors);
        for (int32_t k = 0; k < i.n_tensors; k++) {
            char name[256];
            int64_t ne[2];
            dt_trainer_param_desc(handle_, k, name, sizeof(name), ne);
            Napi::Object d = Napi::Object::New(env);
            d.Set("name", name);
            Napi::Array shape = Napi::Array::New(env, 2);
            shape.Set((uint32_t) 0, (double) ne[0]);
            shape.Set((uint32_t) 1, (double) ne[1]);
            d.Set("ne", shape);
            out.Set((uint32_t) k, d);
        }
        return out;
    }

    Napi::Value GetParams(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        auto arr = Napi::Float32Array::New(env, NParams());
        dt_trainer_get_params(handle_, arr.Data());
        return arr;
    }

    Napi::Value SetParams(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
            (int64_t) info[0].As<Napi::Float32Array>().ElementLength() != NParams()) {
            Napi::TypeError::New(env, "setParams expects a Float32Array of nParams values").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        dt_trainer_set_params(handle_, info[0].As<Napi::Float32Array>().Data());
        return env.Undefined();
    }

    Napi::Value GetGrads(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        auto arr = Napi::Float32Array::New(env, NParams());
        dt_trainer_get_grads(handle_, arr.Data());
        return arr;
    }

    // loss(tokens: Int32Array, labels: Int32Array, grad: boolean): Promise<number>
    Napi::Value Loss(const Napi::CallbackInfo & info);
    // logits(tokens: Int32Array): Promise<Float32Array>
    Napi::Value Logits(const Napi::CallbackInfo & info);

    // adamwStep(options): Promise<number>, the gradient norm before clipping
    Napi::Value AdamwStep(const Napi::CallbackInfo & info);
    // plan(nTokens, nSeq, reserve): the memory plan of a training step, in bytes
    Napi::Value Plan(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        dt_memory_plan p;
        if (dt_trainer_plan(handle_, info[0].ToNumber().Int32Value(), info[1].ToNumber().Int32Value(), info[2].ToBoolean() ? 1 : 0, &p) != 0) {
            Napi::Error::New(env, dt_trainer_last_error(handle_)).ThrowAsJavaScriptException();
            return env.Undefined();
        }
        Napi::Object o = Napi::Object::New(env);
        o.Set("weights", (double) p.weights); o.Set("transposed", (double) p.transposed); o.Set("lora", (double) p.lora);
        o.Set("optimizer", (double) p.optimizer); o.Set("compute", (double) p.compute);
        o.Set("deviceFree", (double) p.device_free); o.Set("deviceTotal", (double) p.device_total);
        return o;
    }
    Napi::Value GetOptimizer(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        auto m = Napi::Float32Array::New(env, NParams());
        auto v = Napi::Float32Array::New(env, NParams());
        int64_t step = 0;
        dt_trainer_get_optimizer(handle_, m.Data(), v.Data(), &step);
        Napi::Object o = Napi::Object::New(env);
        o.Set("m", m); o.Set("v", v); o.Set("step", (double) step);
        return o;
    }

    Napi::Value SetOptimizer(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        auto m = info[0].As<Napi::Float32Array>();
        auto v = info[1].As<Napi::Float32Array>();
        if ((int64_t) m.ElementLength() != NParams() || (int64_t) v.ElementLength() != NParams()) {
            Napi::TypeError::New(env, "optimizer state does not match this trainer").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        dt_trainer_set_optimizer(handle_, m.Data(), v.Data(), (int64_t) info[2].As<Napi::Number>().Int64Value());
        return env.Undefined();
    }

    Napi::Value SetCheckpointing(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        dt_trainer_set_checkpointing(handle_, info[0].ToBoolean() ? 1 : 0);
        return env.Undefined();
    }

    Napi::Value SetProfile(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        dt_trainer_set_profile(handle_, info[0].ToBoolean() ? 1 : 0);
        return env.Undefined();
    }

    // profile(top = 20, reset = false): the table of the costliest ops so far
    Napi::Value Profile(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        if (!Ready(env)) return env.Undefined();
        const int32_t top = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 20;
        std::vector<char> buf(1 << 16);
        dt_trainer_profile(handle_, buf.data(), buf.size(), top, info.Length() > 1 && info[1].ToBoolean() ? 1 : 0);
        return Napi::String::New(env, buf.data());
    }

    Napi::Value Dispose(const Napi::CallbackInfo & info) {
        if (busy_) { Napi::Error::New(info.Env(), "trainer is busy").ThrowAsJavaScriptException(); return info.Env().Undefined(); }
        dt_trainer_free(handle_);
        handle_ = nullptr;
        return info.Env().Undefined();
    }
};

Napi::FunctionReference NativeTrainer::ctor;

// Runs one graph (loss with or without gradients, or logits) off the JS thread.
class GraphWorker : public Napi::AsyncWorker {
  public:
    GraphWorker(Napi::Env env, NativeTrainer * owner, Napi::Object keep, std::vector<int32_t> tokens, std::vector<int32_t> labels, bool grad, bool logits, int32_t n_seq = 1)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), tokens_(std::move(tokens)),
          labels_(std::move(labels)), grad_(grad), logits_mode_(logits), n_seq_(n_seq) {
        keep_ = Napi::Persistent(keep);
        owner_->busy_ = true;
    }
    Napi::Promise Promise() { return deferred_.Promise(); }

    void Execute() override {
        dt_trainer * t = owner_->handle_;
        int rc;
        if (logits_mode_) {
            dt_trainer_info i;
            dt_trainer_get_info(t, &i);
            out_.resize((size_t) i.n_vocab * tokens_.size());
            rc = dt_trainer_logits(t, tokens_.data(), (int32_t) tokens_.size(), out_.data());
        } else {
            rc = dt_trainer_loss(t, tokens_.data(), labels_.data(), (int32_t) tokens_.size() / n_seq_, n_seq_, grad_ ? 1 : 0, &loss_);
        }
        if (rc != 0) SetError(dt_trainer_last_error(t));
    }
    void OnOK() override {
        owner_->busy_ = false;
        Napi::Env env = Env();
        if (logits_mode_) {
            auto arr = Napi::Float32Array::New(env, out_.size());
            std::copy(out_.begin(), out_.end(), arr.Data());
            deferred_.Resolve(arr);
        } else {
            deferred_.Resolve(Napi::Number::New(env, loss_));
        }
    }
    void OnError(const Napi::Error & e) override {
        owner_->busy_ = false;
        deferred_.Reject(e.Value());
    }

  private:
    Napi::Promise::Deferred deferred_;
    NativeTrainer * owner_;
    Napi::ObjectReference keep_;
    std::vector<int32_t> tokens_, labels_;
    bool grad_, logits_mode_;
    int32_t n_seq_;
    float loss_ = 0.0f;
    std::vector<float> out_;
};

std::vector<int32_t> ToVector(const Napi::Value & v) {
    auto arr = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(arr.Data(), arr.Data() + arr.ElementLength());
}

bool IsInt32Array(const Napi::Value & v) {
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array;
}

Napi::Value NativeTrainer::Loss(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    if (!IsInt32Array(info[0]) || !IsInt32Array(info[1]) || info[0].As<Napi::Int32Array>().ElementLength() != info[1].As<Napi::Int32Array>().ElementLength()) {
        Napi::TypeError::New(env, "loss expects tokens and labels as Int32Arrays of equal length").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int32_t n_seq = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 1;
    const size_t n = info[0].As<Napi::Int32Array>().ElementLength();
    if (n_seq <= 0 || n % (size_t) n_seq != 0) {
        Napi::TypeError::New(env, "loss expects nSeq sequences of equal length").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    auto * w = new GraphWorker(env, this, info.This().As<Napi::Object>(), ToVector(info[0]), ToVector(info[1]), info[2].ToBoolean(), false, n_seq);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

Napi::Value NativeTrainer::Logits(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    if (!IsInt32Array(info[0])) {
        Napi::TypeError::New(env, "logits expects tokens as an Int32Array").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    auto * w = new GraphWorker(env, this, info.This().As<Napi::Object>(), ToVector(info[0]), {}, false, true);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

// One optimizer update off the JS thread (on a GPU it waits for the device).
class AdamwWorker : public Napi::AsyncWorker {
  public:
    AdamwWorker(Napi::Env env, NativeTrainer * owner, Napi::Object keep, float hp[6], int32_t accum)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), accum_(accum) {
        std::copy(hp, hp + 6, hp_);
        keep_ = Napi::Persistent(keep);
        owner_->busy_ = true;
    }
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
        if (dt_trainer_adamw_step(owner_->handle_, hp_[0], hp_[1], hp_[2], hp_[3], hp_[4], hp_[5], accum_, &norm_) != 0) SetError(dt_trainer_last_error(owner_->handle_));
    }
    void OnOK() override { owner_->busy_ = false; deferred_.Resolve(Napi::Number::New(Env(), norm_)); }
    void OnError(const Napi::Error & e) override { owner_->busy_ = false; deferred_.Reject(e.Value()); }
  private:
    Napi::Promise::Deferred deferred_;
    NativeTrainer * owner_;
    Napi::ObjectReference keep_;
    float hp_[6];
    int32_t accum_;
    float norm_ = 0.0f;
};

Napi::Value NativeTrainer::AdamwStep(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
    auto num = [&](const char * k, double d) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
    float hp[6] = { (float) num("lr", 2e-4), (float) num("beta1", 0.9), (float) num("beta2", 0.999), (float) num("eps", 1e-8),
                    (float) num("weightDecay", 0.0), (float) num("clip", 1.0) };
    auto * w = new AdamwWorker(env, this, info.This().As<Napi::Object>(), hp, (int32_t) num("accum", 1));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

// listDevices(backendDirs: string[]): { devices, notes }
Napi::Value ListDevices(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::vector<std::string> dirs = StringList(info[0]);
    std::vector<const char *> ptrs;
    for (const auto & d : dirs) ptrs.push_back(d.c_str());
    dt_device_info devs[32];
    char notes[1024] = {0};
    const int n = ptrs.empty() ? 0 : dt_list_devices(ptrs.data(), (int32_t) ptrs.size(), devs, 32, notes, sizeof(notes));
    Napi::Array arr = Napi::Array::New(env);
    for (int i = 0; i < n; i++) arr.Set((uint32_t) i, DeviceObject(env, devs[i]));
    Napi::Object o = Napi::Object::New(env);
    o.Set("devices", arr);
    o.Set("notes", notes);
    return o;
}

// createTrainer(options): Promise<NativeTrainer>
class CreateWorker : public Napi::AsyncWorker {
  public:
    CreateWorker(Napi::Env env, dt_trainer_params p, std::string model, std::vector<std::string> dirs, std::string device)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), params_(p), model_(std::move(model)), dirs_(std::move(dirs)), device_(std::move(device)) {}
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
        params_.model_path = model_.c_str();
        std::vector<const char *> ptrs;
        for (const auto & d : dirs_) ptrs.push_back(d.c_str());
        params_.backend_dirs = ptrs.data();
        params_.n_backend_dirs = (int32_t) ptrs.size();
        params_.device = device_.c_str();
        char err[1024] = {0};
        handle_ = dt_trainer_init(&params_, err, sizeof(err));
        if (!handle_) SetError(err);
    }
    void OnOK() override {
        Napi::Env env = Env();
        deferred_.Resolve(NativeTrainer::ctor.New({ Napi::External<dt_trainer>::New(env, handle_) }));
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    Napi::Promise::Deferred deferred_;
    dt_trainer_params params_;
    std::string model_;
    std::vector<std::string> dirs_;
    std::string device_;
    dt_trainer * handle_ = nullptr;
};

Napi::Value CreateTrainer(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
        Napi::TypeError::New(env, "createTrainer expects an options object").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    auto str = [&](const char * k) { return o.Has(k) && o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : std::string(); };
    auto num = [&](const char * k, double d) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
    dt_trainer_params p{};
    p.rank = (int32_t) num("rank", 16);
    p.alpha = (float) num("alpha", 32);
    p.targets = (uint32_t) num("targets", 0x7f);
    p.seed = (uint64_t) num("seed", 42);
    p.n_threads = (int32_t) num("threads", 1);
    p.compact_transposed = o.Has("compactTransposed") && o.Get("compactTransposed").ToBoolean() ? 1 : 0;
    p.ggml_matmul = o.Has("cpuMatmul") && !o.Get("cpuMatmul").ToBoolean() ? 1 : 0;
    const std::string precision = str("precision");
    p.precision = precision == "f32" ? DT_PRECISION_F32 : precision == "f16" ? DT_PRECISION_F16 : precision == "bf16" ? DT_PRECISION_BF16 : DT_PRECISION_AUTO;
    if (!precision.empty() && precision != "auto" && p.precision == DT_PRECISION_AUTO) {
        Napi::TypeError::New(env, "precision must be auto, f32, f16 or bf16").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    std::vector<std::string> dirs = StringList(o.Get("backendDirs"));
    if (dirs.empty()) {
        Napi::TypeError::New(env, "createTrainer needs backendDirs (folders with ggml's backend libraries)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    auto * w = new CreateWorker(env, p, str("modelPath"), std::move(dirs), o.Has("device") ? str("device") : std::string("auto"));
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
}

} // namespace

Napi::Object InitTrainer(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = NativeTrainer::Define(env);
    NativeTrainer::ctor = Napi::Persistent(cls);
    NativeTrainer::ctor.SuppressDestruct();
    exports.Set("NativeTrainer", cls);
    exports.Set("createTrainer", Napi::Function::New(env, CreateTrainer));
    exports.Set("listDevices", Napi::Function::New(env, ListDevices));
    return exports;
}
