// Native benchmark of incontext::attention against every libtorch SDPA backend available, in one run.
//   bench_attention [--device cpu|cuda] [--dtype float|bfloat16|half] [--reps N] [--causal 0|1] [--shapes B,H,T,D;...]
// Prints a markdown table, shape x implementation: forward and forward+backward median ms (after warm-up; device
// events on CUDA), achieved GB/s and GFLOP/s of the forward+backward, percent of the measured peak (a large matmul
// for FLOP/s, a large copy for bytes/s, measured in the same run), and the ratio SDPA-backend time / ours.
// FLOPs count the useful work: fwd 4 B H T^2 D, bwd 10 B H T^2 D, times (T+1)/(2T) when causal. Bytes are the
// compulsory traffic: fwd reads q, k, v and writes o and lse; bwd reads q, k, v, o, dO, lse and writes dq, dk, dv.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include "attention/attention.h"
#include "bench_machine.h"
#include "incontext/ops.h"

namespace {

struct Shape {
  int64_t B, H, T, D;
};

bool g_cuda = false;

// Median milliseconds of f over reps runs after warm-up (reps = 1: one cold-free timed run, the caller warmed up). On CUDA each run is bracketed by device events on the
// current stream, so the time is the device's, not the host's launch time.
double median_ms(const std::function<void()>& f, int reps) {
  if (reps > 1)
    for (int i = 0; i < std::max(3, reps / 5); ++i) f();
  std::vector<double> t;
  if (g_cuda) {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    const c10::Stream stream = impl.getStream(c10::Device(c10::DeviceType::CUDA, 0));
    for (int i = 0; i < reps; ++i) {
      c10::Event a(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT);
      c10::Event b(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT);
      a.record(stream);
      f();
      b.record(stream);
      b.synchronize();
      t.push_back(a.elapsedTime(b));
    }
  } else {
    for (int i = 0; i < reps; ++i) {
      const auto a = std::chrono::steady_clock::now();
      f();
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The SDPA backends, forced one at a time through the global SDP switches (the same ones
// torch.nn.attention.sdpa_kernel sets); a backend that cannot run the shape throws and is reported n/a.
struct Backend {
  const char* name;
  bool flash, efficient, cudnn, math;
};
const Backend kBackends[] = {
    {"SDPA flash", true, false, false, false},
    {"SDPA efficient", false, true, false, false},
    {"SDPA cudnn", false, false, true, false},
    {"SDPA math", false, false, false, true},
    {"SDPA default", true, true, true, true},
};
void select(const Backend& b) {
  auto& ctx = at::globalContext();
  ctx.setSDPUseFlash(b.flash);
  ctx.setSDPUseMemEfficient(b.efficient);
  ctx.setSDPUseCuDNN(b.cudnn);
  ctx.setSDPUseMath(b.math);
}

std::vector<Shape> parse_shapes(const std::string& s) {
  std::vector<Shape> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ';')) {
    Shape sh{};
    if (std::sscanf(item.c_str(), "%lld,%lld,%lld,%lld", (long long*)&sh.B, (long long*)&sh.H, (long long*)&sh.T,
                    (long long*)&sh.D) == 4)
      out.push_back(sh);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "cpu", dtype_name = "float";
  int reps = 30;
  bool causal = true;
  std::vector<Shape> shapes = {{64, 8, 82, 32}, {64, 8, 202, 32}, {64, 4, 82, 64}, {1280, 8, 82, 32}};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--device") device = v;
    else if (a == "--dtype") dtype_name = v;
    else if (a == "--reps") reps = std::atoi(v.c_str());
    else if (a == "--causal") causal = v != "0";
    else if (a == "--shapes") shapes = parse_shapes(v);
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  g_cuda = device == "cuda";
  if (g_cuda && !at::globalContext().hasCUDA()) {
    std::fprintf(stderr, "bench_attention: --device cuda, but no CUDA device or this libtorch has no CUDA\n");
    return 2;
  }
  const at::ScalarType dt = dtype_name == "bfloat16" ? at::kBFloat16 : dtype_name == "half" ? at::kHalf : at::kFloat;
  const auto opt = at::TensorOptions().dtype(dt).device(g_cuda ? at::kCUDA : at::kCPU);
  const double elt = static_cast<double>(c10::elementSize(dt));
  at::manual_seed(0);

  // Measured peaks in this run: a 2048^3 matmul (FLOP/s) and a 64M-element copy (bytes/s, read + write).
  const at::Tensor ma = at::randn({2048, 2048}, opt), mb = at::randn({2048, 2048}, opt);
  const double mm_ms = median_ms([&] { at::mm(ma, mb); }, 10);
  const double peak_gflops = 2.0 * 2048 * 2048 * 2048 / (mm_ms * 1e6);
  const at::Tensor big = at::empty({64 << 20}, opt);
  at::Tensor big2 = at::empty_like(big);
  const double copy_ms = median_ms([&] { big2.copy_(big); }, 10);
  const double peak_gbs = 2.0 * big.numel() * elt / (copy_ms * 1e6);

  std::printf("%s\n", incontext::bench::machine_line().c_str());
  std::printf("device %s, dtype %s, causal %d, threads %d, fast CPU kernel ISA %s; median of %d runs\n", device.c_str(),
              dtype_name.c_str(), causal, at::get_num_threads(),
              incontext::attn::fast_isa_name(), reps);
  std::printf("measured peaks: matmul %.1f GFLOP/s, copy %.1f GB/s\n\n", peak_gflops, peak_gbs);
  std::printf("| shape (B,H,T,D) | implementation | fwd ms | fwd+bwd ms | fwd+bwd GB/s | fwd+bwd GFLOP/s | %% peak FLOP/s | "
              "fwd ratio | fwd+bwd ratio |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");

  for (const Shape& s : shapes) {
    const at::Tensor q = at::randn({s.B, s.H, s.T, s.D}, opt), k = at::randn_like(q), v = at::randn_like(q);
    const at::Tensor g = at::randn_like(q);
    const double frac = causal ? (s.T + 1.0) / (2.0 * s.T) : 1.0;
    const double flop_fb = 14.0 * s.B * s.H * s.T * s.T * s.D * frac;
    const double bytes_fb = 13.0 * s.B * s.H * s.T * s.D * elt + 3.0 * s.B * s.H * s.T * 4;
    char shape[64];
    std::snprintf(shape, sizeof shape, "(%lld,%lld,%lld,%lld)", (long long)s.B, (long long)s.H, (long long)s.T,
                  (long long)s.D);
    const int r = s.B * s.H * s.T > 1'000'000 && !g_cuda ? std::max(5, reps / 3) : reps;

    // Every implementation is a (name, run-forward, run-forward+backward) triple. They are timed round-robin, one
    // run of each per round, so that load from other processes on a shared machine hits all of them alike.
    using Fn = std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>;
    struct Impl {
      std::string name;
      Fn f;
      int backend;  // index into kBackends, or -1
    };
    std::vector<Impl> impls;
    impls.push_back({"incontext fused", [&](const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
                       return incontext::attention(a, b, c, causal);
                     }, -1});
    if (!g_cuda && s.B * s.H * s.T <= 50'000)  // the naive float64-accumulating loops: slow, small shapes only
      impls.push_back({"incontext reference", [&](const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
                         return incontext::attention_reference(a, b, c, causal);
                       }, -1});
    for (int bi = 0; bi < 5; ++bi)
      impls.push_back({kBackends[bi].name, [&](const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
                         return at::scaled_dot_product_attention(a, b, c, {}, 0.0, causal);
                       }, bi});
    auto fwd_of = [&](const Impl& im) { return [&] { if (im.backend >= 0) select(kBackends[im.backend]); im.f(q, k, v); }; };
    auto fb_of = [&](const Impl& im) {
      return [&] {
        if (im.backend >= 0) select(kBackends[im.backend]);
        auto qq = q.detach().requires_grad_(true), kk = k.detach().requires_grad_(true), vv = v.detach().requires_grad_(true);
        torch::autograd::grad({im.f(qq, kk, vv)}, {qq, kk, vv}, {g});
      };
    };
    std::vector<bool> ok(impls.size(), true);
    for (size_t i = 0; i < impls.size(); ++i) {  // warm-up, and find the backends that cannot run this shape
      try {
        for (int w = 0; w < 3; ++w) { fwd_of(impls[i])(); fb_of(impls[i])(); }
      } catch (const c10::Error&) {
        ok[i] = false;
      }
    }
    std::vector<std::vector<double>> tf(impls.size()), tb(impls.size());
    for (int rep = 0; rep < r; ++rep)
      for (size_t i = 0; i < impls.size(); ++i) {
        if (!ok[i]) continue;
        tf[i].push_back(median_ms(fwd_of(impls[i]), 1));
        tb[i].push_back(median_ms(fb_of(impls[i]), 1));
      }
    select(kBackends[4]);
    struct Result {
      std::string name;
      double fwd, fb;
    };
    auto med = [](std::vector<double> x) { std::sort(x.begin(), x.end()); return x[x.size() / 2]; };
    std::vector<Result> results;
    for (size_t i = 0; i < impls.size(); ++i)
      results.push_back(ok[i] ? Result{impls[i].name, med(tf[i]), med(tb[i])}
                              : Result{impls[i].name + " (n/a for this shape)", NAN, NAN});
    const Result& ours = results[0];
    for (const Result& res : results) {
      std::printf("| %s | %s | %.3f | %.3f | %.1f | %.1f | %.1f%% | %.2fx | %.2fx |\n", shape, res.name.c_str(), res.fwd,
                  res.fb, bytes_fb / (res.fb * 1e6), flop_fb / (res.fb * 1e6), 100.0 * flop_fb / (res.fb * 1e6) / peak_gflops,
                  res.fwd / ours.fwd, res.fb / ours.fb);
    }
    std::fflush(stdout);
  }
  std::printf("\nratio = that implementation's time / incontext fused time (above 1: incontext is faster)\n");
  return 0;
}
