// Kernel choices by measurement (issue: "performance on equal footing", item 2). Where two exact
// implementations of the same result exist and which one is faster depends on the shapes, the BLAS and the
// thread count, the first use of a shape times every candidate on this machine and the fastest is kept:
// in this process, and in `$TORCHNAS_HOME/kernel-choices.tsv` (default `~/.cache/torchnas`), so later runs
// on the same machine make the same choice and give the same result to the last bit (determinism: the
// candidates agree only to float rounding). The key holds the LibTorch version, the BLAS build, oneDNN's
// availability and the calling thread's intra-op thread count.
//
// TORCHNAS_KERNELS="name=candidate,..." forces a candidate (tests compare the candidates this way);
// TORCHNAS_KERNELS=first forces the first candidate of every choice, with no timing.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace torchnas {

struct KernelCandidate {
  std::string name;
  // Runs the candidate once on a representative (possibly smaller) input; only its time is used.
  std::function<void()> run;
};

// Index of the chosen candidate for `kind` (a short name, e.g. "conv_input_grad") at `shape_key`
// (the shapes and options that matter). Candidates must be interchangeable: any may be returned.
std::size_t choose_kernel(const std::string& kind, const std::string& shape_key, const std::vector<KernelCandidate>& candidates);

// True when TORCHNAS_KERNELS (or the override) names `candidate` for `kind`: for kernels used without timing
// (batch_norm_train: always our own on CPU float32) that can still be forced back to ATen's ("…=aten").
bool kernel_forced_to(const std::string& kind, const std::string& candidate);

// Every choice made or loaded in this process, as "key\tcandidate" lines (for `torchnas info` and tests).
std::vector<std::string> kernel_choices();
// The file choices are remembered in ("" when there is no home folder).
std::string kernel_choice_file();

// Overrides of the environment for this process (the library API; jest cannot set a real environment):
// `file` replaces $TORCHNAS_HOME/kernel-choices.tsv ("" keeps choices in memory only); `forced` replaces
// TORCHNAS_KERNELS ("kind=candidate,…" or "first"). Unset optionals leave that setting alone.
void configure_kernel_choices(const std::optional<std::string>& file, const std::optional<std::string>& forced);

}  // namespace torchnas
