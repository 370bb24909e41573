// `onnxquant cast MODEL -o OUT --precision fp16|bf16`: half-precision model, verified and timed on ORT.
#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "pipeline/cast_job.h"

namespace onnxquant::cli {

namespace {

std::string sqnr_text(double db) { return std::isfinite(db) ? fmt::format("{:.1f} dB", db) : "inf (identical)"; }

void print_text(std::ostream& out, const CastResult& r, const GlobalOptions& global) {
  const char* type = half_type_name(r.precision);
  const std::string mode = r.compute == HalfCompute::Full ? fmt::format("{} compute", type)
                                                          : fmt::format("{} weights, float32 compute", type);
  const std::string io = r.keep_io_types || r.compute == HalfCompute::WeightsOnly ? "float32" : type;
  out << fmt::format("{} -> {} ({}, {} inputs/outputs)\n", r.input, r.written ? r.output : "(not written)", mode, io);
  Table t({{""}, {""}});
  t.add_row({"size", fmt::format("{} -> {} ({})", human_bytes(r.input_bytes), human_bytes(r.output_bytes), ratio_text(r.size_ratio))});
  const auto& s = r.rewrite;
  if (r.compute == HalfCompute::Full)
    t.add_row({"rewrite", fmt::format("{} nodes in {}, {} kept float32, {} Casts added, {} Casts retyped, {} weights converted{}", s.half_nodes,
                                      type, s.float_nodes, s.casts_inserted, s.casts_retyped, s.constants_converted,
                                      s.constants_duplicated ? fmt::format(" ({} also kept in float32)", s.constants_duplicated) : "")});
  else
    t.add_row({"rewrite", fmt::format("{} weights stored in {}, {} Casts to float32 added", s.constants_converted, type, s.casts_inserted)});
  t.add_row({"accuracy", fmt::format("cosine {:.6f}  SQNR {}  max abs error {:.4g} over {} sample{}", r.accuracy.cosine,
                                     sqnr_text(r.accuracy.sqnr_db), r.accuracy.max_abs_error, r.samples, r.samples == 1 ? "" : "s")});
  if (r.float_latency && r.half_latency)
    t.add_row({"latency", fmt::format("float32 {:.2f} ms, {} {:.2f} ms median ({}, {} runs each): {:.2f}x{}", r.float_latency->median_ms,
                                      type, r.half_latency->median_ms,
                                      r.threads == 0 ? "all cores" : fmt::format("{} thread{}", r.threads, r.threads == 1 ? "" : "s"),
                                      r.float_latency->samples_ms.size(), r.speedup, r.half_slower ? " (slower)" : "")});
  out << t.render({.show_header = false});
  if (global.verbose > 0 || r.outputs.size() > 1)
    for (const auto& o : r.outputs)
      out << fmt::format("    output {}: cosine {:.6f}, SQNR {}, max abs error {:.4g}\n", o.name, o.stats.cosine, sqnr_text(o.stats.sqnr_db),
                         o.stats.max_abs_error);
  if (global.verbose > 0)
    for (const auto& k : s.kept_float) out << fmt::format("    kept float32: {} x{}: {}\n", k.op_type, k.count, k.reason);
  for (const auto& n : r.notes) out << "  note: " << n << "\n";
}

}  // namespace

void add_cast_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<CastRequest>();
  auto* cmd = app.add_subcommand("cast", "Convert a float32 model to float16 or bfloat16, verified and timed on ONNX Runtime");
  cmd->add_option("model", req->input, "ONNX model file (float32)")->required();
  cmd->add_option("-o,--output", req->output, "Where to write the half-precision model (written only when verification succeeds)")
      ->required();
  // A plain string checked by IsMember: its error names the accepted values, not CLI11's enum mapping.
  cmd->add_option_function<std::string>(
         "--precision",
         [req](const std::string& p) {
           req->precision = (p == "bf16" || p == "bfloat16") ? HalfType::BFloat16 : HalfType::Float16;
         },
         "Half type: fp16 (default) or bf16")
      ->check(CLI::IsMember({"fp16", "bf16", "float16", "bfloat16"}))
      ->option_text("fp16|bf16");
  cmd->add_flag_function(
      "--half-io", [req](int64_t) { req->keep_io_types = false; },
      "Make graph inputs and outputs half too (default: they stay float32, with Casts at the boundary)");
  cmd->add_flag_function(
      "--weights-only", [req](int64_t) { req->compute = CastCompute::WeightsOnly; },
      "Store weights in half but compute in float32: half the file size at float32 speed");
  add_input_options(cmd, req->inputs);
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads for verification and timing (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--runs", req->latency.runs, "Timed runs of each model, interleaved (0 = no timing)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--warmup", req->latency.warmup, "Untimed runs of each model before timing")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--min-cosine", req->min_cosine, "Fail (exit 9, nothing written) when the outputs' cosine vs float32 is lower")
      ->check(CLI::Range(0.0, 1.0));
  cmd->footer(
      "bf16: ONNX Runtime's CPU EP has no bfloat16 kernels for most ops and refuses bf16 compute; the model is\n"
      "then written with bf16 weights and float32 compute (said in the output). fp16: ORT's CPU kernels mostly\n"
      "cast float16 to float32 and back, so fp16 is often slower than fp32 on CPU; the timing says so.\n"
      "Examples:\n"
      "  onnxquant cast resnet50.onnx -o resnet50_fp16.onnx\n"
      "  onnxquant cast resnet50.onnx -o r_fp16.onnx -i input=eval.npy -n 20 --min-cosine 0.999\n"
      "  onnxquant cast det.onnx -o det_fp16.onnx --input-shape x=1,3,640,640\n"
      "  onnxquant cast model.onnx -o model_bf16.onnx --precision bf16\n"
      "  onnxquant --format json cast model.onnx -o out.onnx   (schema: docs/json-output.md)");
  cmd->callback([req, &global, &selected] {
    selected = [req, &global] {
      const CastResult r = cast_model(*req);
      if (global.format == OutputFormat::Json) print_json(std::cout, to_json(r));
      else print_text(std::cout, r, global);
      return 0;
    };
  });
}

}  // namespace onnxquant::cli
