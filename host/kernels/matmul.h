// matmul's variant choice for callers that run it (the scheduler, `bench -m`).
#ifndef VKLLM_KERNELS_MATMUL_H
#define VKLLM_KERNELS_MATMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kernel.h"
#include "runtime/context.h"
#include "shaders/matmul.h"

// The variant name for y (M, N) = x (M, K) . W (N, K)T on this device: a tiled GEMM for a
// batch; for one row, where rows start on 16-byte vectors, the texel GEMV where the device
// prefers texel reads, else with f16 weights the storage-buffer row blocks; otherwise one
// workgroup per output. With `residual`, y += x . W^T in one dispatch: a GEMV variant for one
// row, NULL for a batch (then add separately).
const char *vkl_matmul_variant(const vkl_device_info *info, uint32_t M, uint32_t K, bool f16_weights, bool residual);
// The same for weights of any type: quantized ones take the row blocks (texel on CPU devices,
// storage buffers on GPUs, a row-block GEMM for a batch); NULL where K is not a whole number of
// the format's blocks, or for a residual variant with M > 1.
const char *vkl_matmul_variant_typed(const vkl_device_info *info, uint32_t M, uint32_t K, vkl_dtype dtype, bool residual);

// matmul's expected output and bound (see host/kernels/matmul.c), for kernels built from
// matmuls: y (M, N) = residual + x (M, K) . W (N, K)T, residual NULL for none.
// weight_ulps: the weight format's dequant_ulps (host/formats.h), 0 for f32 and f16.
void vkl_matmul_expect(const float *x, const float *w, const float *residual, float *y, double *bounds, uint32_t M,
                       uint32_t N, uint32_t K, double weight_ulps);

// The GEMV with an RMSNorm folded in (attn_qkv, ffn_gate_up): y (M, N) = n(x) (M, K) . W (N, K)T,
// n(x) = x g / sqrt(mean(x^2) + eps), as exact values in double (y) with each one's bound on
// what the device computes (see host/kernels/matmul.c). Their checks use eps =
// VKL_NORM_MATMUL_EPS_DEFAULT unless the case sets one.
#define VKL_NORM_MATMUL_EPS_DEFAULT 1e-5f
void vkl_norm_matmul_exact(const float *x, const float *g, float eps, const float *w, double *y, double *bounds,
                           uint32_t M, uint32_t N, uint32_t K, double weight_ulps);

// Launch of a row-block GEMV shader (matmul_gemv.comp with TEXEL or ROW_BLOCKS: matmul,
// ffn_gate_up, attn_qkv): `row_blocks` workgroups per row of x, one z-slice per row; sets groups_x.
uint32_t vkl_matmul_row_blocks_launch(struct matmul_push push, uint32_t row_blocks, vkl_launch *out);

#endif
