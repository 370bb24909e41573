// `onnxquant quantize MODEL -o OUT --static-int8 (--ranges FILE | -i DATA ...) [--dry-run] [--plan-out FILE]`
// Exactly one mode is required: --static-int8 (here), --weights-only or --dynamic (cli/quantize_modes.h).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "cli/quantize_modes.h"
#include "core/errors.h"
#include "pipeline/quantize_job.h"

namespace onnxquant::cli {

namespace {

void print_plan(const QuantPlan& plan) {
  Table nodes({{"node"}, {"op"}, {"decision"}, {"reason"}});
  for (const auto& n : plan.nodes)
    nodes.add_row({n.node.empty() ? n.output : n.node, n.op_type, n.quantized ? n.rule : "fp32", n.reason});
  std::cout << "nodes:\n" << nodes.render();
  Table tensors({{"tensor"}, {"role"}, {"dtype"}, {"consumer"}, {"reason"}});
  for (const auto& t : plan.tensors) tensors.add_row({t.tensor, tensor_role_name(t.role), dtype_name(t.dtype), t.consumer, t.reason});
  std::cout << "tensors:\n" << tensors.render();
}

}  // namespace

void add_quantize_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<QuantizeRequest>();
  auto static_int8 = std::make_shared<bool>(false);
  auto dry_run = std::make_shared<bool>(false);
  auto per_tensor = std::make_shared<bool>(false);
  auto method = std::make_shared<std::string>(method_name(RangeOptions{}.method));
  auto activation = std::make_shared<std::string>("uint8");
  auto ranges = std::make_shared<std::string>();
  auto target_cpu = std::make_shared<std::string>("auto");
  auto reduce_range = std::make_shared<bool>(false);
  auto no_reduce_range = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("quantize", "Quantize a model (static INT8, QDQ) from a ranges file or calibration data");
  cmd->add_option("model", req->model, "ONNX model file (FP32)")->required();
  cmd->add_option("-o,--output", req->output, "Quantized model to write");
  cmd->add_flag("--static-int8", *static_int8, "Static INT8: int8 weights, calibrated uint8/int8 activations (QDQ)");
  auto modes = std::make_shared<QuantizeModeOptions>();
  add_quantize_mode_options(cmd, *modes);
  cmd->add_option("--ranges", *ranges, "Ranges file from `onnxquant calibrate` (must match the model's SHA-256)");
  add_input_options(cmd, req->inputs);
  cmd->add_option("-m,--method", *method, "Range method when calibrating here: mse (default), minmax, percentile, entropy")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  cmd->add_flag("--dry-run", *dry_run, "Print the quantization plan (every tensor's decision and reason); write no model");
  cmd->add_option("--plan-out", req->plan_out, "Save the plan as JSON");
  cmd->add_flag("--per-tensor", *per_tensor, "One scale per weight tensor instead of per output channel");
  cmd->add_option("--activation-type", *activation, "uint8 (asymmetric, default) or int8 (symmetric)")->check(CLI::IsMember({"uint8", "int8"}));
  cmd->add_option("--exclude", req->plan.exclude, "Keep in float: node name, op type, or regex over node names (repeatable)");
  cmd->add_option("--target-cpu", *target_cpu, "CPU the model will run on: auto (this machine), avx2, avx-vnni, avx512-vnni")
      ->check(CLI::IsMember({"auto", "avx2", "avx-vnni", "avx512-vnni"}));
  auto* rr = cmd->add_flag("--reduce-range", *reduce_range, "7-bit weights [-64, 63] (default when the target CPU has no VNNI)");
  cmd->add_flag("--no-reduce-range", *no_reduce_range, "8-bit weights [-127, 127] even without VNNI")->excludes(rr);
  cmd->add_flag("--keep-fp32-head", req->plan.keep_fp32_head, "Keep the last Conv/Gemm/MatMul before each output, and what follows, in float");
  cmd->add_flag("--quantize-softmax", req->plan.quantize_softmax, "Quantize Softmax (QLinearSoftmax); protected by default");
  cmd->add_flag("--quantize-attention", req->plan.quantize_attention, "Quantize attention score chains; protected by default");
  cmd->add_flag("--quantize-layernorm", req->plan.quantize_layer_norm, "Quantize decomposed LayerNorm chains; protected by default");
  cmd->add_flag("--no-clip-ranges", [req](int64_t) { req->accuracy.clip_ranges = false; },
                "Keep calibrated ranges of tensors read only by Clip/Relu (instead of cutting them to the clip bounds)");
  cmd->add_flag("--equalize,!--no-equalize", req->accuracy.equalize,
                "Cross-layer equalization: rescale Conv -> [Relu] -> Conv pairs so their weight ranges match (helps per-tensor weights)");
  cmd->add_flag("--bias-correction,!--no-bias-correction", req->accuracy.bias_correction,
                "Bias correction: subtract each quantized Conv/Gemm's mean output shift on calibration data from its bias");
  cmd->add_option("--bias-correction-samples", req->accuracy.bias_correction_samples, "Calibration samples bias correction measures on")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--bias-correction-step", req->accuracy.bias_correction_layers_per_step,
                  "Layers bias correction corrects per quantize-and-measure run (1: strictly layer by layer, slowest)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--target-cosine", req->accuracy.target_cosine,
                  "Return the most sensitive layers to FP32 until the outputs' cosine vs FP32 on held-out calibration samples reaches this")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--report", req->report_html, "Write an HTML validation page of the result against FP32 (on the -i data, or synthetic)");
  cmd->add_option("--report-samples", req->report_samples, "Samples the --report validation uses")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads for calibration and verification")->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Examples:\n"
      "  onnxquant quantize resnet50.onnx --static-int8 --ranges ranges.json -o resnet50_int8.onnx\n"
      "  onnxquant quantize resnet50.onnx --static-int8 -i calib.npy -n 100 -o resnet50_int8.onnx\n"
      "  onnxquant quantize resnet50.onnx --static-int8 --ranges ranges.json --dry-run --plan-out plan.json");
  // CLI11 writes into these holders while parsing; the callback owns them.
  cmd->callback([=, &global, &selected] {
    selected = [=, &global] {
      if (*static_int8 + modes->weights_only + modes->dynamic != 1)
        throw UsageError("quantize: choose exactly one mode: --static-int8, --weights-only or --dynamic");
      if (!*static_int8)
        return run_quantize_mode(*modes, {req->model.string(), req->output.string(), req->inputs, req->plan.exclude, req->plan_out.string(), *dry_run,
                                          *per_tensor, req->exec},
                                 global);
      if (modes->rounding == "hqq")
        throw UsageError("--rounding hqq applies to --weights-only; static INT8 rounds its weights with GPTQ (auto) or to nearest");
      if (!*dry_run && req->output.empty()) throw UsageError("quantize: -o/--output is required (or use --dry-run)");
      req->ranges_file = *ranges;
      if (req->ranges_file.empty() && req->inputs.files.empty())
        throw UsageError("quantize --static-int8 needs activation ranges: --ranges FILE or calibration data (-i)",
                         "onnxquant calibrate MODEL -i DATA -o ranges.json, then --ranges ranges.json");
      req->mode = *dry_run ? QuantizeMode::DryRun : QuantizeMode::Write;
      req->plan.weights = *per_tensor ? Granularity::PerTensor : Granularity::PerChannel;
      req->plan.activations = *activation == "int8" ? QuantTarget::Int8Symmetric : QuantTarget::UInt8Asymmetric;
      req->plan.target_cpu = *parse_cpu_target(*target_cpu);
      req->plan.reduce_range = *reduce_range ? ReduceRange::On : *no_reduce_range ? ReduceRange::Off : ReduceRange::Auto;
      req->range.method = *parse_method(*method);
      req->accuracy.rounding = modes->rounding == "nearest" ? StaticWeightRounding::Nearest : StaticWeightRounding::Auto;
      req->accuracy.rounding_rows_per_sample = modes->gptq_rows;
      req->command_line = command_line();
      if (global.format == OutputFormat::Json || global.quiet) req->progress = ProgressMode::Off;
      const QuantizeResult r = quantize_model(*req);
      if (global.format == OutputFormat::Json) {
        print_json(std::cout, to_json(r));
        return 0;
      }
      if (r.mode == QuantizeMode::DryRun || global.verbose > 0) print_plan(r.plan);
      std::cout << fmt::format("plan: {} of {} nodes quantized ({} weights, {} activations); ranges from {}\n", r.plan.quantized_node_count(),
                               r.plan.nodes.size(), r.plan.weight_granularity, r.plan.activation_type, r.ranges_source);
      if (!r.plan_out.empty()) std::cout << fmt::format("  plan written to {}\n", r.plan_out);
      for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
      if (!r.written) return 0;
      if (r.rounding == "gptq")
        std::cout << fmt::format("rounding: GPTQ on {} weights from {} calibration samples (--rounding nearest to turn off)\n", r.rounded_weights,
                                 r.rounding_samples);
      if (r.equalized || r.bias_corrected_nodes > 0)
        std::cout << fmt::format("accuracy: cross-layer equalization {}; bias correction on {} Conv/Gemm ({} samples)\n", r.equalized ? "applied" : "not applicable",
                                 r.bias_corrected_nodes, r.bias_correction_samples);
      if (r.fallback_ran) {
        const auto& f = r.fallback;
        std::cout << fmt::format("target cosine {}: {}, {} layer(s) kept in FP32 (FP32 latency {:.2f} ms)\n", req->accuracy.target_cosine,
                                 f.reached ? "reached" : "NOT reached", f.excluded.size(), f.fp32_latency_ms);
        Table t({{"step"}, {"returned to FP32"}, {"op"}, {"held-out cosine"}, {"latency ms"}, {"speedup"}});
        for (size_t i = 0; i < f.steps.size(); ++i) {
          const auto& s = f.steps[i];
          t.add_row({std::to_string(i), s.node.empty() ? "(all quantized)" : s.node, s.op_type, fmt::format("{:.5f}", s.cosine),
                     fmt::format("{:.2f}", s.latency_ms), fmt::format("{:.2f}x", s.latency_ms > 0 ? f.fp32_latency_ms / s.latency_ms : 0.0)});
        }
        std::cout << t.render();
      }
      const auto conv = r.fusion.by_op.find("Conv");
      std::cout << fmt::format("verified in ONNX Runtime {}: cosine {:.6f} vs FP32 on {}; {} integer kernels", r.fusion.runtime_version,
                               r.first_sample.cosine, verification_sample_text(!req->inputs.files.empty()), r.fusion.integer_kernel_total);
      if (conv != r.fusion.by_op.end()) std::cout << fmt::format(" ({} of {} quantized Convs fused)", conv->second.fused, conv->second.quantized);
      std::cout << fmt::format("\n  wrote {} ({} -> {})\n", r.output, human_bytes(r.input_bytes), human_bytes(r.output_bytes));
      if (!r.report.empty()) std::cout << fmt::format("  report {}\n", r.report);
      return 0;
    };
  });
}

}  // namespace onnxquant::cli
