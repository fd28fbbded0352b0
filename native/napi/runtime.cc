// info(), seeds, threads, device checks.
#include <napi.h>

#include "../core/runtime.h"
#include "common.h"
#include "families.h"

namespace torchnas::napi {

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto r = guarded(env, [] { return runtime_info(); });
  auto o = Napi::Object::New(env);
  o.Set("torch", r.torch_version);
  o.Set("cuda", r.cuda_available);
  o.Set("cudaDeviceCount", r.cuda_device_count);
  o.Set("threads", r.num_threads);
  o.Set("interopThreads", r.num_interop_threads);
  o.Set("mkldnn", r.mkldnn_available);
  auto blas = Napi::Object::New(env);
  blas.Set("config", r.blas_config);
  blas.Set("parallel", r.blas_parallel == 0 ? "sequential" : r.blas_parallel == 1 ? "pthreads" : r.blas_parallel == 2 ? "openmp" : "unknown");
  blas.Set("threads", r.blas_threads);
  o.Set("openblas", r.blas_threads >= 0 ? Napi::Value(blas) : env.Null());
  return o;
}

Napi::Value SetSeed(const Napi::CallbackInfo& info) {
  int64_t seed = read_int_in(info[0], "seed", 0, 9007199254740991);
  guarded(info.Env(), [&] { set_seed(static_cast<uint64_t>(seed)); });
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  // Bounded: at::set_num_threads(1e6) would try to start a million OpenMP threads.
  int64_t n = read_int_in(info[0], "threads", 1, 1024);
  guarded(info.Env(), [&] { set_num_threads(static_cast<int>(n)); });
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), get_num_threads()); }

// Normalises a device string ("cuda" -> "cuda:0") or throws DEVICE_UNAVAILABLE / INVALID_ARGUMENT.
Napi::Value CheckDevice(const Napi::CallbackInfo& info) {
  auto spec = read_string(info[0], "device");
  auto d = guarded(info.Env(), [&] { return parse_device(spec); });
  if (d.is_cuda() && !d.has_index()) d = torch::Device(torch::kCUDA, 0);
  return Napi::String::New(info.Env(), device_string(d));
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  get_num_threads();  // pins the process's thread count before any job thread exists (core/runtime.cc)
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setSeed", Napi::Function::New(env, SetSeed, "setSeed"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("checkDevice", Napi::Function::New(env, CheckDevice, "checkDevice"));
}

}  // namespace torchnas::napi
