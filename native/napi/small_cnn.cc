// SmallCnn: the demo classifier and its trainer, exposed as a JS class whose jobs return Promises.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "../core/runtime.h"
#include "../core/serialize.h"
#include "../core/train/classifier_trainer.h"
#include "async_job.h"
#include "classifier_wrap.h"
#include "common.h"
#include "families.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

class SmallCnnWrap : public ClassifierWrap<SmallCnnWrap> {
 public:
  static constexpr const char* kClassName = "SmallCnn";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = classifier_methods();
    exports.Set(kClassName, define(env, methods));
  }

  explicit SmallCnnWrap(const Napi::CallbackInfo& info) : ClassifierWrap(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "SmallCnn options");
    auto in_channels = option_int(o, "inChannels", 1, "options");
    auto image_size = option_int(o, "imageSize", 28, "options");
    auto classes = option_int(o, "numClasses", 10, "options");
    auto seed = option_int(o, "seed", 0, "options");
    auto device_spec = option_string(o, "device", "cpu", "options");
    const bool batch_norm = o.Has("batchNorm") ? read_bool(o.Get("batchNorm"), "options.batchNorm") : true;
    if (in_channels < 1 || in_channels > 64) throw_invalid(env, "options.inChannels must be in 1..64");
    if (image_size < 4 || image_size > 4096) throw_invalid(env, "options.imageSize must be in 4..4096");
    if (classes < 1 || classes > 100000) throw_invalid(env, "options.numClasses must be in 1..100000");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
    bind(env, guarded(env, [&] {
           auto device = parse_device(device_spec);
           std::lock_guard<std::mutex> lock(seeded_construction_mutex());
           set_seed(static_cast<uint64_t>(seed));
           return std::make_shared<ClassifierTrainer>(SmallCnn(in_channels, image_size, classes, batch_norm), device);
         }));
  }
};

}  // namespace

void register_small_cnn(Napi::Env env, Napi::Object exports) { SmallCnnWrap::Register(env, exports); }

}  // namespace torchnas::napi
