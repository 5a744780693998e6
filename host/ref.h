// The CPU reference of every kernel: the specification each shader is judged against.
// Plain loops, output first, shapes in comments, reductions accumulated in double.
#ifndef VKLLM_REF_H
#define VKLLM_REF_H

#include <stdint.h>

// y = x · Wᵀ.  y (M, N) · x (M, K) · w (N, K), row-major.
void ref_matmul(float *y, const float *x, const float *w, uint32_t M, uint32_t N, uint32_t K);

// y[m, i] = x[m, i] / sqrt(mean_j x[m, j]² + eps) * w[i].  y (M, N) · x (M, N) · w (N).
void ref_rms_norm(float *y, const float *x, const float *w, uint32_t M, uint32_t N, float eps);

#endif
