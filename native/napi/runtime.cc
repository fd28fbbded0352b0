// info(), seeds, threads, device checks.
#include <napi.h>

#include "../core/cpu_allocator.h"
#include "../core/ops/kernel_choice.h"
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
  o.Set("sgemm", r.sgemm);
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

// kernelChoices({ file?, force? }): optionally redirects the kernel-choice cache (string; "" = memory only)
// and forces candidates ("kind=candidate,…", "first", "" = none); returns { file, choices: [{ key, choice }] }.
Napi::Value KernelChoices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::optional<std::string> file, force;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsObject()) throw_invalid(env, "kernelChoices options must be an object");
    auto o = info[0].As<Napi::Object>();
    if (o.Has("file") && !o.Get("file").IsUndefined()) file = read_string(o.Get("file"), "options.file");
    if (o.Has("force") && !o.Get("force").IsUndefined()) force = read_string(o.Get("force"), "options.force");
  }
  auto lines = guarded(env, [&] {
    configure_kernel_choices(file, force);
    return kernel_choices();
  });
  auto o = Napi::Object::New(env);
  o.Set("file", kernel_choice_file());
  auto list = Napi::Array::New(env, lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    auto tab = lines[i].rfind('\t');
    auto entry = Napi::Object::New(env);
    entry.Set("key", lines[i].substr(0, tab));
    entry.Set("choice", lines[i].substr(tab + 1));
    list.Set(static_cast<uint32_t>(i), entry);
  }
  o.Set("choices", list);
  return o;
}

Napi::Object cache_stats_object(Napi::Env env, const CpuCacheStats& s, int64_t released) {
  auto o = Napi::Object::New(env);
  o.Set("installed", s.installed);
  o.Set("limitBytes", static_cast<double>(s.limit_bytes));
  o.Set("cachedBytes", static_cast<double>(s.cached_bytes));
  o.Set("inUseBytes", static_cast<double>(s.in_use_bytes));
  o.Set("hits", static_cast<double>(s.hits));
  o.Set("misses", static_cast<double>(s.misses));
  o.Set("releasedBytes", static_cast<double>(released));
  return o;
}

// cpuCache({ limitMb?, empty? }): the caching CPU allocator's bound and statistics (core/cpu_allocator.h);
// limitMb sets the idle-cache bound (0 turns caching off), empty: true releases every idle block.
Napi::Value CpuCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t released = 0;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsObject()) throw_invalid(env, "cpuCache options must be an object");
    auto o = info[0].As<Napi::Object>();
    if (o.Has("limitMb") && !o.Get("limitMb").IsUndefined()) {
      const int64_t mb = read_int_in(o.Get("limitMb"), "options.limitMb", 0, int64_t(1) << 40);
      released += set_cpu_cache_limit(mb << 20);
    }
    if (o.Has("empty") && !o.Get("empty").IsUndefined()) {
      if (!o.Get("empty").IsBoolean()) throw_invalid(env, "options.empty must be a boolean");
      if (o.Get("empty").As<Napi::Boolean>().Value()) released += empty_cpu_cache();
    }
  }
  return cache_stats_object(env, cpu_cache_stats(), released);
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  install_cpu_allocator();  // before any tensor of a job exists; once per process
  get_num_threads();  // pins the process's thread count before any job thread exists (core/runtime.cc)
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setSeed", Napi::Function::New(env, SetSeed, "setSeed"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("checkDevice", Napi::Function::New(env, CheckDevice, "checkDevice"));
  exports.Set("kernelChoices", Napi::Function::New(env, KernelChoices, "kernelChoices"));
  exports.Set("cpuCache", Napi::Function::New(env, CpuCache, "cpuCache"));
}

}  // namespace torchnas::napi
