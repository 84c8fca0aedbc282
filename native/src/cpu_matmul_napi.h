#pragma once
#include <napi.h>

Napi::Object InitCpuMatmul(Napi::Env env, Napi::Object exports);
