// Dense Cholesky factorisation and solves for the small symmetric positive definite systems of GPTQ
// (one diagonal block of a layer's input second moment at a time, at most a few hundred columns).
#pragma once
#include <cstdint>
#include <vector>

namespace onnxquant {

// In place: a (row-major n x n, symmetric; only the lower triangle is read) becomes L with A = L L^T,
// its upper triangle zeroed. False when A is not positive definite (a is then partly overwritten).
bool cholesky_lower(std::vector<double>& a, int64_t n);

}  // namespace onnxquant
