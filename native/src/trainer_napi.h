#pragma once
#include <napi.h>

Napi::Object InitTrainer(Napi::Env env, Napi::Object exports);
