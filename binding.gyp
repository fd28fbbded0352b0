{
  "targets": [
    {
      "target_name": "torchnas",
      "sources": [
        "native/addon.cc",
        "native/core/runtime.cc",
        "native/core/serialize.cc",
        "native/core/checksum.cc",
        "native/core/verified_archive.cc",
        "native/core/nets/small_cnn.cc",
        "native/core/train/classifier_trainer.cc",
        "native/napi/common.cc",
        "native/napi/async_job.cc",
        "native/napi/tensor.cc",
        "native/napi/runtime.cc",
        "native/napi/serialize.cc",
        "native/napi/small_cnn.cc",
        "native/core/measure/flops.cc",
        "native/core/ops/counted_layers.cc",
        "native/core/ops/conv_blocks.cc",
        "native/core/nets/multi_resolution_net.cc",
        "native/core/nets/mlp_predictor.cc",
        "native/core/nets/mlp_predictor_fast.cc",
        "native/core/train/fused_adam.cc",
        "native/core/train/lr_schedule.cc",
        "native/core/train/training_loop.cc",
        "native/core/nets/init.cc",
        "native/core/train/predictor_trainer.cc",
        "native/core/train/ncp_propagation.cc",
        "native/napi/multi_resolution_net.cc",
        "native/napi/ncp.cc",
        "native/napi/ncp_settings.cc",
        "native/core/ops/cell_ops.cc",
        "native/core/ops/vjp_tape.cc",
        "native/core/nets/nb201_network.cc",
        "native/core/measure/ntk.cc",
        "native/core/measure/linear_regions.cc",
        "native/napi/tenas.cc",
        "native/core/nets/darts_network.cc",
        "native/napi/tenas_darts.cc",
        "native/core/nets/densenas_ops.cc",
        "native/core/nets/dense_supernet.cc",
        "native/core/train/densenas_search.cc",
        "native/napi/densenas.cc",
        "native/core/measure/latency.cc",
        "native/core/nets/dense_derived_net.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/torch-paths.js include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "TORCHNAS_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-fno-math-errno", "<!@(node scripts/torch-paths.js cflags)"],
      "libraries": ["<!@(node scripts/torch-paths.js libs)", "-lz"]
    }
  ]
}
