// Runs one onnxquant command in this process with the CLI's own parser: the arguments are what a user
// would type after `onnxquant`, and the command's standard output (JSON, with --format json) is
// returned instead of printed. Errors propagate as onnxquant::Error.
#pragma once
#include <string>
#include <vector>

#include "pipeline/calibrate_job.h"

namespace onnxquant::python {

struct CommandOutput {
  int exit_code = 0;     // the CLI's exit code for a run that produced a report (validate --fail-below: 1)
  std::string stdout_text;
};

// `samples`, when set, feeds `calibrate` in memory instead of -i. Commands run one at a time: std::cout
// (and the command line that reports show) is process-wide, so concurrent callers wait for each other.
// Call without the GIL held.
CommandOutput run_command(const std::vector<std::string>& args, const SampleProvider& samples = {});

}  // namespace onnxquant::python
