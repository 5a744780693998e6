// The CPU reference of every kernel: the specification each shader is judged against.
// Plain loops, output first, shapes in comments, reductions accumulated in double.
#ifndef VKLLM_REF_H
#define VKLLM_REF_H

#include <stdbool.h>
#include <stdint.h>

// y = x · Wᵀ.  y (M, N) · x (M, K) · w (N, K), row-major.
void ref_matmul(float *y, const float *x, const float *w, uint32_t M, uint32_t N, uint32_t K);

// y[m, i] = x[m, i] / sqrt(mean_j x[m, j]² + eps) * w[i].  y (M, N) · x (M, N) · w (N).
void ref_rms_norm(float *y, const float *x, const float *w, uint32_t M, uint32_t N, float eps);

// y = a + b.  y (n) · a (n) · b (n).
void ref_add(float *y, const float *a, const float *b, uint64_t n);
void ref_bias_add(float *y, const float *x, const float *b, uint32_t M, uint32_t N);

// y = silu(gate) * up = gate / (1 + exp(-gate)) * up.  y (n) · gate (n) · up (n).
void ref_swiglu(float *y, const float *gate, const float *up, uint64_t n);

// y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).  y (n) · x (n).
void ref_gelu(float *y, const float *x, uint64_t n);

// y = (x - mean) / sqrt(var + eps) * w + b per row.  y (M, N) · x (M, N) · w (N) · b (N).
void ref_layer_norm(float *y, const float *x, const float *w, const float *b, uint32_t M, uint32_t N, float eps);

// y = exp((x - max) / T) / sum per row.  y (M, N) · x (M, N).
void ref_softmax(float *y, const float *x, uint32_t M, uint32_t N, float temperature);

// Index of the first maximum of each row.  index (M) · x (M, N).
void ref_argmax(uint32_t *index, const float *x, uint32_t M, uint32_t N);

// y[m] = table[ids[m]]; ids >= V give zero rows and are counted in the result.
// y (M, D) · ids (M) · table (V, D).
uint32_t ref_embedding(float *y, const uint32_t *ids, const float *table, uint32_t M, uint32_t V, uint32_t D);

// RoPE's frequencies: base, and context extension by `factor` (rope.scaling.factor; 0 or 1:
// none), linear (yarn_context 0) or YaRN over a trained context of yarn_context positions.
typedef struct vkl_rope_params {
    float base;
    float factor;
    uint32_t yarn_context;
} vkl_rope_params;
// The angle per position of rotated pair i of R: base^(-2i/R); divided by factor under linear
// scaling; under YaRN (ggml's rope_yarn with ext_factor 1, Hugging Face's
// DeepseekV2YarnRotaryEmbedding; beta_fast 32, beta_slow 1) kept for the pairs that turn more
// than beta_fast times over yarn_context positions, divided by factor for those that turn
// fewer than beta_slow times, and blended linearly between. In double.
double vkl_rope_freq(const vkl_rope_params *r, uint32_t R, uint32_t i);
// Rotary embedding in place; token m at position p0 + m; the first R dims of each head rotate,
// pairs (2i, 2i+1), or (i, i + R/2) when neox.  q (M, H, D) · k (M, KVH, D).
void ref_rope(float *q, float *k, uint32_t M, uint32_t H, uint32_t KVH, uint32_t D, uint32_t R, bool neox,
              uint32_t p0, const vkl_rope_params *r);
// The angle table rope.comp reads: (cos, sin)(p * vkl_rope_freq(i)).  table (rows, R/2, 2).
void vkl_rope_table(float *table, uint32_t rows, uint32_t rot_dim, const vkl_rope_params *r);

// Writes M new rows at positions p0.. of a layer's cache, rounding to f16 when `f16`.
// k_cache (capacity, row), v_cache (capacity, v_row) · k_new (M, row), v_new (M, v_row).
void ref_kv_append(float *k_cache, float *v_cache, const float *k_new, const float *v_new, uint32_t M, uint32_t row,
                   uint32_t v_row, uint32_t p0, bool f16);
// True when `count` tokens fit at `pos` in a cache of `capacity` positions; else logs why.
bool vkl_kv_append_fits(uint32_t pos, uint32_t count, uint32_t capacity);

// Causal attention: query m at position p0 + m attends keys 0..p0+m of KV head h / (H / KVH),
// scale 1/sqrt(D).  o (M, H, D) · q (M, H, D) · k_cache, v_cache (capacity, KVH, D).
void ref_attention(float *o, const float *q, const float *k_cache, const float *v_cache, uint32_t M, uint32_t H,
                   uint32_t KVH, uint32_t D, uint32_t p0);
// Multi-head latent attention (shaders/attention_mla.h): query m of head h at position p0 + m
// scores key t as scale (q_lat . latent_t + q_rope . rope_key_t) and returns the softmax-weighted
// sum of the latents, in double. o, q_lat (M, H, L) · q_rope (M, H, R) · latent (capacity, L) ·
// rope_key (capacity, R).
void ref_attention_mla(float *o, const float *q_lat, const float *q_rope, const float *latent, const float *rope_key,
                       uint32_t M, uint32_t H, uint32_t L, uint32_t R, uint32_t p0, double scale);
// A matrix per head: y[m, h] = W[h] x[m, h], in double. y (M, H, N) · x (M, H, K) · w (H, N, K).
void ref_head_matmul(float *y, const float *x, const float *w, uint32_t M, uint32_t H, uint32_t N, uint32_t K);

// MoE router: softmax over E experts per token and the top k, chosen on the logits (ties to the
// lower index); weights are the chosen probabilities, renormalised to sum 1 when `renorm`, times
// `scale` (DeepSeek's expert_weights_scale; 1 otherwise).
// probs (T, E) · ids (T, k) · weights (T, k) · logits (T, E).
void ref_moe_route(float *probs, uint32_t *ids, float *weights, const float *logits, uint32_t T, uint32_t E,
                   uint32_t k, bool renorm, double scale);
// Bounds of moe_route's probabilities and weights.  prob_bound (T, E) · weight_bound (T, k).
void vkl_moe_route_bounds(double *prob_bound, double *weight_bound, const float *logits, const float *probs,
                          const float *weights, uint32_t T, uint32_t E, uint32_t k, bool renorm, double scale);
// MoE token lists (see shaders/moe.h) and the mean router probability per expert.
// counts (E) · offsets (E+1) · perm, inv (T*k) · tiles (max_tiles, 2) · prob_mean (E) · ids (T*k) · probs (T, E).
void ref_moe_count(uint32_t *counts, uint32_t *offsets, uint32_t *perm, uint32_t *inv, uint32_t *tiles,
                   float *prob_mean, const uint32_t *ids, const float *probs, uint32_t T, uint32_t E, uint32_t k,
                   uint32_t tile_rows);
// Entries in the grouped matmul's tile map of tile_rows rows per tile: ceil(T*k / tile_rows) + E.
uint32_t vkl_moe_max_tiles(uint32_t T, uint32_t k, uint32_t E, uint32_t tile_rows);

// A Mixtral-style MoE FFN block after its router matmul: moe_route on the router logits, and
// for each chosen expert silu(x . gateT) * (x . upT) . downT, weighted and summed.
// out (T, D) · ids, weights (T, k) · x (T, D) · logits (T, E) · w_gate, w_up (E, F, D) · w_down (E, D, F).
void ref_moe(float *out, uint32_t *ids, float *weights, const float *x, const float *logits, const float *w_gate,
             const float *w_up, const float *w_down, uint32_t T, uint32_t D, uint32_t F, uint32_t E, uint32_t k,
             bool renorm, double scale);

#endif
