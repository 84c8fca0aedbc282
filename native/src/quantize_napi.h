#pragma once
#include <napi.h>

Napi::Object InitQuantize(Napi::Env env, Napi::Object exports);
