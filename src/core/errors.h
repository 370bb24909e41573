// Typed errors. Every failure a user can cause is one of these, carrying what failed and where (file,
// node, tensor), so the CLI can print one clear line and map it to a documented exit code.
#pragma once
#include <stdexcept>
#include <string>

namespace onnxquant {

// Exit codes are part of the CLI contract (README "Exit codes"); keep the numbers stable.
enum class ErrorKind {
  Usage = 2,        // bad command-line options
  Load = 3,         // model file missing, empty, corrupt, not ONNX, unsafe external data
  Unsupported = 4,  // an operator or model feature onnxquant cannot handle
  Data = 5,         // input data that does not fit the model or cannot be read
  Runtime = 6,      // ONNX Runtime refused or failed to run a model
  Io = 7,           // output could not be written
  Calibration = 8,  // calibration could not produce ranges
  Verification = 9, // a produced model failed a check (checker, thresholds)
  Internal = 70,    // a bug in onnxquant
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string hint = {})
      : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& hint() const { return hint_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
  std::string hint_;
};

#define ONNXQ_DEFINE_ERROR(Name, Kind)                                            \
  class Name : public Error {                                                     \
   public:                                                                        \
    explicit Name(const std::string& message, std::string hint = {})              \
        : Error(ErrorKind::Kind, message, std::move(hint)) {}                     \
  };

ONNXQ_DEFINE_ERROR(UsageError, Usage)
ONNXQ_DEFINE_ERROR(LoadError, Load)
ONNXQ_DEFINE_ERROR(UnsupportedOpError, Unsupported)
ONNXQ_DEFINE_ERROR(DataError, Data)
ONNXQ_DEFINE_ERROR(RuntimeError, Runtime)
ONNXQ_DEFINE_ERROR(IoError, Io)
ONNXQ_DEFINE_ERROR(CalibrationError, Calibration)
ONNXQ_DEFINE_ERROR(VerificationError, Verification)
ONNXQ_DEFINE_ERROR(InternalError, Internal)
#undef ONNXQ_DEFINE_ERROR

const char* error_kind_name(ErrorKind kind);

}  // namespace onnxquant
