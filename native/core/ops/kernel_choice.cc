#include "kernel_choice.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "../runtime.h"
#include "../serialize.h"

namespace torchnas {

namespace {

std::mutex& override_mutex() {
  static std::mutex m;
  return m;
}
std::optional<std::string>& file_override() {
  static std::optional<std::string> f;
  return f;
}
std::optional<std::string>& forced_override() {
  static std::optional<std::string> f;
  return f;
}

std::string cache_file() {
  {
    std::lock_guard<std::mutex> lock(override_mutex());
    if (file_override()) return *file_override();
  }
  std::string home;
  if (const char* h = std::getenv("TORCHNAS_HOME"); h && *h) home = h;
  else if (const char* u = std::getenv("HOME"); u && *u) home = std::string(u) + "/.cache/torchnas";
  return home.empty() ? std::string() : home + "/kernel-choices.tsv";
}

// Adds the "key\tchoice" lines of `file` to `choices`; with `replace` false, keys already there keep their choice.
// A missing file adds nothing; torn or foreign lines are skipped.
void read_choices(const std::string& file, std::map<std::string, std::string>& choices, bool replace) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.rfind('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 >= line.size()) continue;
    if (replace) choices[line.substr(0, tab)] = line.substr(tab + 1);
    else choices.emplace(line.substr(0, tab), line.substr(tab + 1));
  }
}

struct Cache {
  std::mutex mutex;
  std::string file;  // the file the map was loaded from (reloaded when TORCHNAS_HOME changes)
  std::map<std::string, std::string> choices;

  void load_if_needed() {
    const std::string f = cache_file();
    if (f == file) return;
    file = f;
    choices.clear();
    if (!f.empty()) read_choices(f, choices, true);
  }

  // The whole file rewritten atomically (write_atomically: a reader never sees half a file), after merging the
  // lines another process added since our load (ours win on a conflict). A failure only means the choices are
  // not remembered across runs.
  void save() {
    if (file.empty()) return;
    try {
      read_choices(file, choices, false);
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
      std::string text;
      for (const auto& [k, v] : choices) text += k + "\t" + v + "\n";
      write_atomically(file, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + tmp);
      });
    } catch (const std::exception&) {
      // not remembered: the next run times the shape again
    }
  }
};

Cache& cache() {
  static Cache c;
  return c;
}

std::string machine_key() {
  static const std::string key = [] {
    auto info = runtime_info();
    std::string blas = info.blas_config.empty() ? std::string("blas=unknown") : "blas=" + info.blas_config;
    return std::string("torch=") + TORCH_VERSION + "|" + blas + "|onednn=" + (at::hasMKLDNN() ? "1" : "0");
  }();
  return key;
}

// The forced candidate for `kind` from TORCHNAS_KERNELS, or "" (none); "first" forces index 0.
std::string forced(const std::string& kind) {
  std::string s;
  {
    std::lock_guard<std::mutex> lock(override_mutex());
    if (forced_override()) s = *forced_override();
    else if (const char* env = std::getenv("TORCHNAS_KERNELS")) s = env;
  }
  if (s.empty()) return "";
  if (s == "first") return "#first";
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq != std::string::npos && item.substr(0, eq) == kind) return item.substr(eq + 1);
  }
  return "";
}

double seconds_of(const std::function<void()>& run) {
  auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

bool kernel_forced_to(const std::string& kind, const std::string& candidate) { return forced(kind) == candidate; }

std::size_t choose_kernel(const std::string& kind, const std::string& shape_key, const std::vector<KernelCandidate>& candidates) {
  if (candidates.size() <= 1) return 0;
  auto index_of = [&](const std::string& name) -> std::size_t {
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].name == name) return i;
    }
    return candidates.size();
  };
  const std::string force = forced(kind);
  if (force == "#first") return 0;
  if (!force.empty()) {
    auto i = index_of(force);
    if (i < candidates.size()) return i;
  }
  const std::string key = kind + "|" + shape_key + "|threads=" + std::to_string(at::get_num_threads()) + "|" + machine_key();
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.load_if_needed();
    auto it = c.choices.find(key);
    if (it != c.choices.end()) {
      auto i = index_of(it->second);
      if (i < candidates.size()) return i;
    }
  }
  // Timed outside the lock (other threads may time other shapes meanwhile). Interleaved rounds, the best
  // of three per candidate: the first round also pays each kernel's first-touch costs.
  std::vector<double> best(candidates.size(), 1e300);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < candidates.size(); ++i) best[i] = std::min(best[i], seconds_of(candidates[i].run));
  }
  std::size_t chosen = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    if (best[i] < best[chosen]) chosen = i;
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  c.load_if_needed();
  auto [it, inserted] = c.choices.emplace(key, candidates[chosen].name);
  if (!inserted) {
    // Another thread chose first: use its choice, so one process never mixes the two.
    auto i = index_of(it->second);
    return i < candidates.size() ? i : chosen;
  }
  c.save();
  return chosen;
}

std::vector<std::string> kernel_choices() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.load_if_needed();
  std::vector<std::string> lines;
  for (const auto& [k, v] : c.choices) lines.push_back(k + "\t" + v);
  return lines;
}

std::string kernel_choice_file() { return cache_file(); }

void configure_kernel_choices(const std::optional<std::string>& file, const std::optional<std::string>& forced) {
  std::lock_guard<std::mutex> lock(override_mutex());
  if (file) file_override() = *file;
  if (forced) forced_override() = *forced;
}

}  // namespace torchnas
