#include "core/errors.h"

namespace onnxquant {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return "usage";
    case ErrorKind::Load: return "load";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Data: return "data";
    case ErrorKind::Runtime: return "runtime";
    case ErrorKind::Io: return "io";
    case ErrorKind::Calibration: return "calibration";
    case ErrorKind::Verification: return "verification";
    case ErrorKind::Internal: return "internal";
  }
  return "error";
}

}  // namespace onnxquant
